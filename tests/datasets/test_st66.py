"""ST.66 XML records as EUIPO publishes them: namespaces, several images, zips, folders, malformed files."""

from __future__ import annotations

import zipfile

from logo_similarity.datasets.st66 import TradeMarkRecord, XmlReject, iter_trademarks

NS = "http://www.euipo.europa.eu/EUTM/EUTM_Download"


def trademark(number: str, name: str | None = "BRAND", images: list[tuple[str, list[str]]] | None = None,
              classes: list[str] = ("9", "42"), date: str = "2016-03-01", prefix: str = "") -> str:
    images = [(f"{number}.jpg", ["27.05.01"])] if images is None else images
    verbal = (f"<{prefix}WordMarkSpecification><{prefix}MarkVerbalElementText>{name}</{prefix}MarkVerbalElementText>"
              f"</{prefix}WordMarkSpecification>") if name else ""
    image_xml = "".join(
        f"<{prefix}MarkImage><{prefix}MarkImageFilename>{file}</{prefix}MarkImageFilename><{prefix}MarkImageCategory>"
        f"<{prefix}CategoryCodeDetails>" + "".join(f"<{prefix}CategoryCode>{c}</{prefix}CategoryCode>" for c in codes)
        + f"</{prefix}CategoryCodeDetails></{prefix}MarkImageCategory></{prefix}MarkImage>" for file, codes in images)
    goods = "".join(f"<{prefix}GoodsServices><{prefix}ClassDescriptionDetails><{prefix}ClassDescription>"
                    f"<{prefix}ClassNumber>{c}</{prefix}ClassNumber></{prefix}ClassDescription>"
                    f"</{prefix}ClassDescriptionDetails></{prefix}GoodsServices>" for c in classes)
    return (f"<{prefix}TradeMark operationCode=\"Insert\"><{prefix}ApplicationNumber>{number}</{prefix}ApplicationNumber>"
            f"<{prefix}ApplicationDate>{date}</{prefix}ApplicationDate><{prefix}MarkFeature>Figurative</{prefix}MarkFeature>"
            f"{verbal}" + (f"<{prefix}MarkImageDetails>{image_xml}</{prefix}MarkImageDetails>" if images else "")
            + f"<{prefix}GoodsServicesDetails>{goods}</{prefix}GoodsServicesDetails></{prefix}TradeMark>")


def transaction(marks: list[str], namespaced: bool = True, prefix: str = "") -> str:
    decl = f' xmlns{":" + prefix[:-1] if prefix else ""}="{NS}"' if namespaced else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><{prefix}Transaction{decl}><{prefix}TradeMarkTransactionBody>'
            f"<{prefix}TransactionContentDetails><{prefix}TransactionData><{prefix}TradeMarkDetails>" + "".join(marks)
            + f"</{prefix}TradeMarkDetails></{prefix}TransactionData></{prefix}TransactionContentDetails>"
            f"</{prefix}TradeMarkTransactionBody></{prefix}Transaction>")


def test_namespaced_record_has_every_field(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text(transaction([trademark("018000001", "KODAK", classes=["42", "9", "9"])]))
    [record] = list(iter_trademarks([path]))
    assert record == TradeMarkRecord(
        source=str(path), application_number="018000001", image_file="018000001.jpg", text="KODAK",
        application_date="2016-03-01", mark_feature="Figurative", vienna_codes=("27.05.01",), nice_classes=(9, 42))
    assert record.year == 2016


def test_prefixed_and_plain_namespaces_and_several_images(tmp_path):
    (tmp_path / "b.xml").write_text(transaction(
        [trademark("1", images=[("1a.jpg", ["26.01.03", "26.01.03"]), ("1b.png", ["01.01.01"])], prefix="eu:")],
        prefix="eu:"))
    (tmp_path / "c.xml").write_text(transaction([trademark("2", name=None, images=[])], namespaced=False))
    records = list(iter_trademarks([tmp_path]))
    assert [(r.application_number, r.image_file, r.vienna_codes, r.image_index) for r in records] == [
        ("1", "1a.jpg", ("26.01.03",), 0), ("1", "1b.png", ("01.01.01",), 1), ("2", None, (), 0)]
    assert records[2].text is None


def test_zip_members_are_streamed(tmp_path):
    with zipfile.ZipFile(tmp_path / "dump.zip", "w") as archive:
        archive.writestr("part1.xml", transaction([trademark("10")]))
        archive.writestr("part2.xml", transaction([trademark("11")]))
        archive.writestr("readme.txt", "not xml")
    records = list(iter_trademarks([tmp_path / "dump.zip"]))
    assert [(r.source.split("!")[1], r.application_number) for r in records] == [("part1.xml", "10"), ("part2.xml", "11")]


def test_malformed_file_keeps_what_was_read_and_the_next_file(tmp_path):
    good_then_broken = transaction([trademark("20"), trademark("21")])
    cut = good_then_broken.index("<TradeMark", good_then_broken.index("</TradeMark>"))
    (tmp_path / "1-broken.xml").write_text(good_then_broken[:cut] + "<TradeMark><Appl")
    (tmp_path / "2-good.xml").write_text(transaction([trademark("22"), "<TradeMark><MarkFeature>Word</MarkFeature></TradeMark>"]))
    (tmp_path / "3-bad.zip").write_bytes(b"PK not a zip")
    out = list(iter_trademarks([tmp_path]))
    assert [type(o).__name__ for o in out] == ["TradeMarkRecord", "XmlReject", "TradeMarkRecord", "XmlReject", "XmlReject"]
    assert out[0].application_number == "20" and out[2].application_number == "22"
    assert [o.reason for o in out if isinstance(o, XmlReject)] == ["malformed_xml", "no_application_number",
                                                                   "unreadable_source"]
    assert "1-broken.xml" in out[1].message and "line" in out[1].message


def test_memory_stays_flat_on_a_long_file(tmp_path):
    import tracemalloc

    path = tmp_path / "long.xml"
    path.write_text(transaction([trademark(str(i)) for i in range(20_000)]))
    tracemalloc.start()
    count = sum(1 for _ in iter_trademarks([path]))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 20_000
    # elements are dropped as they are read: ~180 KB traced for a 16.7 MB file (1.8 MB when they are kept)
    assert peak < path.stat().st_size / 50, (peak, path.stat().st_size)


def test_publication_date_and_applicant(tmp_path):
    """The first publication date (a watch's opposition deadline runs from it) and the first applicant; a date
    that is not one is noted, not fatal."""
    mark = trademark("30", "ACME")
    extra = ("<PublicationDetails><Publication><PublicationSection>A.1</PublicationSection>"
             "<PublicationDate>2016-05-02</PublicationDate></Publication><Publication>"
             "<PublicationDate>2016-04-01</PublicationDate></Publication><Publication>"
             "<PublicationDate>soon</PublicationDate></Publication></PublicationDetails>"
             "<ApplicantDetails><Applicant><ApplicantIdentifier>A-77</ApplicantIdentifier><ApplicantAddressBook>"
             "<FormattedNameAddress><Name><FormattedName><OrganizationName>Acme Ltd</OrganizationName>"
             "</FormattedName></Name></FormattedNameAddress></ApplicantAddressBook></Applicant>"
             "<Applicant><ApplicantIdentifier>B-1</ApplicantIdentifier></Applicant></ApplicantDetails>")
    person = ("<ApplicantDetails><Applicant><ApplicantAddressBook><FormattedNameAddress><Name><FormattedName>"
              "<FirstName>Ada</FirstName><LastName>Lovelace</LastName></FormattedName></Name></FormattedNameAddress>"
              "</ApplicantAddressBook></Applicant></ApplicantDetails>")
    path = tmp_path / "p.xml"
    mark = mark.replace("<ApplicationNumber>", "<RegistrationOfficeCode>EM</RegistrationOfficeCode><ApplicationNumber>")
    path.write_text(transaction([mark.replace("</TradeMark>", extra + "</TradeMark>"),
                                 trademark("31").replace("</TradeMark>", person + "</TradeMark>"), trademark("32")]))
    first, second, third = iter_trademarks([path])
    assert (first.published, first.owner, first.owner_id, first.office) == ("2016-04-01", "Acme Ltd", "A-77", "EM")
    assert first.notes == ("unreadable publication date 'soon'",)
    assert (second.published, second.owner, second.owner_id) == (None, "Ada Lovelace", None)
    assert (third.published, third.owner, third.owner_id, third.notes) == (None, None, None, ())
