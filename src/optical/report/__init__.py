"""The final comparison report (``workflow/scripts/report.py`` calls :func:`build.build_report`).

Modules, each importing only the ones above it:

- ``render``: blocks to Markdown / HTML, cell formats, figure saving (matplotlib, Agg backend);
- ``tables``: the numbers (seed aggregation, paired tests, gap closed, NER F1) from per-row frames;
- ``figures``: the plots, each from one of those tables;
- ``context``: inputs loaded and tables computed once, shared by every section;
- ``retrieval`` / ``ner``: one function per report section, rendered from the context;
- ``build``: :func:`build.build_report`, which builds the context and writes the outputs.
"""
