"""IVF inverted lists kept in a file beside the index (FAISS ``OnDiskInvertedLists``), memory-mapped when searching.

A version written this way holds ``index.faiss`` plus ``lists.ivfdata``; it is read with
``IO_FLAG_ONDISK_SAME_DIR`` so the lists are found beside the index wherever the folder was renamed to. A
writable load copies the lists into memory (the version's files are never modified); saving writes a fresh
``lists.ivfdata`` into the new version.
"""

from __future__ import annotations

from pathlib import Path

import faiss

IVFDATA = "lists.ivfdata"


def to_array_lists(index: faiss.Index) -> None:
    """Move an IVF index's inverted lists into memory (a writable copy: the version's file stays untouched)."""
    ivf = faiss.extract_index_ivf(index)
    source = ivf.invlists
    lists = faiss.ArrayInvertedLists(ivf.nlist, ivf.code_size)
    for number in range(ivf.nlist):
        size = source.list_size(number)
        if size:
            lists.add_entries(number, size, source.get_ids(number), source.get_codes(number))
    ivf.replace_invlists(lists, True)
    lists.this.disown()


def has_ondisk_lists(index: faiss.Index) -> bool:
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        return False
    return isinstance(faiss.downcast_InvertedLists(ivf.invlists), faiss.OnDiskInvertedLists)


def write_ondisk(index: faiss.Index, path: Path, ivfdata: Path) -> None:
    """Write ``index`` with its inverted lists copied into ``ivfdata`` (the in-memory index keeps its own)."""
    ivf = faiss.extract_index_ivf(index)
    ondisk = faiss.OnDiskInvertedLists(ivf.nlist, ivf.code_size, str(ivfdata))
    lists = faiss.InvertedListsPtrVector()
    lists.push_back(ivf.invlists)
    ondisk.merge_from_multiple(lists.data(), lists.size(), False)
    own, original = ivf.own_invlists, ivf.invlists
    ivf.own_invlists = False
    ivf.replace_invlists(ondisk, False)
    try:
        faiss.write_index(index, str(path))
    finally:
        ivf.replace_invlists(original, own)
    del ondisk
