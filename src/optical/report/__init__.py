"""The final comparison report (``workflow/scripts/report.py`` calls :func:`build.build_report`).

Modules, each importing only the ones above it:

- ``render``: blocks to Markdown / HTML, cell formats, figure saving (matplotlib, Agg backend);
- ``tables``: the descriptive numbers (seed aggregation, gap closed, NER F1, training budgets, NMT
  quality) from per-row frames;
- ``inference``: the paired tests and their Holm families (against direct transfer, OPTICAL against
  each system, the headline hierarchical bootstrap, NER permutation tests) and the frame of every
  test (``tests.parquet``);
- ``figures``: the plots, each from one of those tables;
- ``context``: inputs loaded and tables and tests computed once, shared by every section (one
  context per candidate list);
- ``retrieval`` / ``ner`` / ``training``: one function per report section, rendered from the context;
- ``planned``: the planned comparisons' sections (the research question's answer, OPTICAL against
  each system, other candidate lists), reusing ``retrieval``'s summary table;
- ``build``: :data:`build.SECTIONS` in report order and :func:`build.build_report`, which builds the
  context and writes the outputs.
"""
