"""Trademark records from WIPO ST.66 XML as EUIPO publishes it, streamed (a 2 GB file is never loaded whole).

Reads ``Transaction / ... / TradeMarkDetails / TradeMark`` elements from XML files, folders of them and zip
archives (members read as streams), whatever namespace the file declares (elements are matched by local name).
Each ``TradeMark`` becomes one ``TradeMarkRecord`` per mark image (``MarkImageDetails / MarkImage``), carrying the
fields an L3D item needs: application number and date, mark feature, verbal element, image file name, Vienna
codes of that image (``MarkImageCategory / CategoryCodeDetails / CategoryCode``), Nice classes
(``GoodsServicesDetails ... ClassNumber``), the first publication date (``PublicationDetails / Publication /
PublicationDate``: a watch's opposition deadline runs from it) and the first applicant (``ApplicantDetails /
Applicant``: identifier, and the name where the file carries it). A file that stops being well-formed yields what was read before the
error and one ``XmlReject`` naming the file, line and reason; parsing goes on with the next file.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, ParseError, iterparse


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class TradeMarkRecord:
    source: str  # file (or "archive.zip!member.xml") the record came from
    application_number: str
    image_file: str | None  # MarkImageFilename; None when the mark lists no image
    text: str | None = None
    application_date: str | None = None
    mark_feature: str | None = None
    vienna_codes: tuple[str, ...] = ()
    nice_classes: tuple[int, ...] = ()
    image_index: int = 0  # position among the mark's images
    published: str | None = None  # first PublicationDate (ISO): when the opposition period starts
    owner: str | None = None  # the first applicant's name, where the file carries it
    owner_id: str | None = None  # the first applicant's identifier at the office
    office: str | None = None  # RegistrationOfficeCode (EM: EUIPO): whose opposition period applies
    notes: tuple[str, ...] = field(default=())  # recoverable oddities (e.g. an unreadable class number)

    @property
    def year(self) -> int | None:
        date = self.application_date or ""
        return int(date[:4]) if len(date) >= 4 and date[:4].isdigit() else None


@dataclass(frozen=True)
class XmlReject:
    source: str
    reason: str  # "malformed_xml" | "no_application_number" | "unreadable_source"
    message: str
    application_number: str | None = None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(elem: Element, name: str) -> list[Element]:
    return [c for c in elem if _local(c.tag) == name]


def _find_all(elem: Element, name: str) -> Iterator[Element]:
    for node in elem.iter():
        if _local(node.tag) == name:
            yield node


def _text(elem: Element | None) -> str | None:
    if elem is None or elem.text is None:
        return None
    value = " ".join(elem.text.split())
    return value or None


def _first(elem: Element, name: str) -> Element | None:
    return next(_find_all(elem, name), None)


def _child(elem: Element, name: str) -> Element | None:
    return next((c for c in elem if _local(c.tag) == name), None)


def _published(elem: Element, notes: list[str]) -> str | None:
    """The earliest well-formed ``PublicationDate`` (YYYY-MM-DD) of the mark's publications."""
    dates = []
    for node in _find_all(elem, "PublicationDate"):
        value = _text(node) or ""
        if ISO_DATE.fullmatch(value[:10]):
            dates.append(value[:10])
        else:
            notes.append(f"unreadable publication date {value!r}")
    return min(dates) if dates else None


def _owner(elem: Element) -> tuple[str | None, str | None]:
    """(name, identifier) of the first applicant: an organisation's name, else first and last name, else a
    free-format name line."""
    applicant = _first(elem, "Applicant")
    if applicant is None:
        return None, None
    identifier = _text(_first(applicant, "ApplicantIdentifier")) or _text(_first(applicant, "Identifier"))
    name = _text(_first(applicant, "OrganizationName"))
    if not name:
        parts = [_text(_first(applicant, tag)) for tag in ("FirstName", "LastName")]
        name = " ".join(p for p in parts if p) or _text(_first(applicant, "FreeFormatNameLine"))
    return name, identifier


def parse_trademark(elem: Element, source: str) -> list[TradeMarkRecord] | XmlReject:
    """The records of one ``TradeMark`` element (one per image, or one without an image)."""
    number = _text(_child(elem, "ApplicationNumber"))
    if not number:
        return XmlReject(source, "no_application_number", "a TradeMark without ApplicationNumber")
    notes: list[str] = []
    classes: list[int] = []
    for details in _find_all(elem, "GoodsServicesDetails"):
        for node in _find_all(details, "ClassNumber"):
            value = _text(node)
            if value and value.isdigit():
                classes.append(int(value))
            else:
                notes.append(f"unreadable Nice class {value!r}")
    verbal = _first(elem, "WordMarkSpecification")
    owner, owner_id = _owner(elem)
    common = dict(
        source=source, application_number=number, text=_text(_first(verbal, "MarkVerbalElementText")) if verbal else None,
        application_date=_text(_child(elem, "ApplicationDate")), mark_feature=_text(_child(elem, "MarkFeature")),
        nice_classes=tuple(sorted(set(classes))), published=_published(elem, notes), owner=owner, owner_id=owner_id,
        office=_text(_child(elem, "RegistrationOfficeCode")),
    )
    common["notes"] = tuple(notes)
    images = [img for details in _find_all(elem, "MarkImageDetails") for img in _children(details, "MarkImage")]
    if not images:
        return [TradeMarkRecord(image_file=None, **common)]
    records = []
    for position, image in enumerate(images):
        codes = [_text(c) for c in _find_all(image, "CategoryCode")]
        records.append(TradeMarkRecord(
            image_file=_text(_first(image, "MarkImageFilename")), image_index=position,
            vienna_codes=tuple(dict.fromkeys(c for c in codes if c)), **common,
        ))
    return records


def _parse_stream(stream: IO[bytes], source: str) -> Iterator[TradeMarkRecord | XmlReject]:
    container = None  # the element holding the TradeMarks: emptied after each one, so memory stays flat
    try:
        for event, elem in iterparse(stream, events=("start", "end")):
            if event == "start":
                if _local(elem.tag) == "TradeMarkDetails":
                    container = elem
                continue
            if _local(elem.tag) != "TradeMark":
                continue
            parsed = parse_trademark(elem, source)
            elem.clear()
            if container is not None:
                container.clear()
            if isinstance(parsed, XmlReject):
                yield parsed
            else:
                yield from parsed
    except ParseError as exc:
        yield XmlReject(source, "malformed_xml", f"{source}: {exc}")


def iter_trademarks(sources: list[Path]) -> Iterator[TradeMarkRecord | XmlReject]:
    """Records (and rejects) from XML files, zip archives of them and folders holding either, in name order."""
    for source in sources:
        source = Path(source)
        if source.is_dir():
            yield from iter_trademarks(sorted(p for p in source.rglob("*") if p.suffix.lower() in (".xml", ".zip")))
        elif source.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(source) as archive:
                    for member in sorted(n for n in archive.namelist() if n.lower().endswith(".xml")):
                        with archive.open(member) as stream:
                            yield from _parse_stream(stream, f"{source}!{member}")
            except (OSError, zipfile.BadZipFile) as exc:
                yield XmlReject(str(source), "unreadable_source", f"{source}: {exc}")
        else:
            try:
                with open(source, "rb") as stream:
                    yield from _parse_stream(stream, str(source))
            except OSError as exc:
                yield XmlReject(str(source), "unreadable_source", f"{source}: {exc}")
