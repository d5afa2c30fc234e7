"""The alignment probe's columns (optical.probe), apart so that the report reads them without torch."""

# in-context classes of foreign word: what it is (from the lexicon), whether it shares a sub-word token
# with its translation, and cognates by whether they do
CLASSES = ("cognates", "native", "names_years", "shared", "cognates_shared", "cognates_other")
COLUMNS = ["language", "seed", "model", "cognates", "p1_cognates", "p1_native",
           *(f"context_{c}" for c in CLASSES), "context_native_chance", "context_native_by_place",
           "context_native_off_place", "context_native_words"]
