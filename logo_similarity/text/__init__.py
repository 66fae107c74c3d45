"""Text in logos: canonical names, phonetic (ALINE) and orthographic similarity, name search, OCR."""
