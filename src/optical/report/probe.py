"""The report's section on what direct transfer runs on in the synthetic world (optical.probe's rows
from results/probe/, one file per language and seed): empty when no probe ran (real data)."""

from __future__ import annotations

from optical.report.context import ReportContext
from optical.report.render import Section, pair_name

NUMBERS = ["p1_cognates", "p1_native", "context_shared", "context_cognates_shared", "context_cognates_other",
           "context_native", "context_native_chance", "context_native_off_place"]


def direct_transfer_probe(ctx: ReportContext) -> Section:
    """Per language and model, means over seeds of both probes: what direct transfer can use."""
    out = Section()
    if ctx.probe.empty:
        return out
    means = ctx.probe.groupby(["language", "model"], sort=False)[NUMBERS + ["cognates"]].mean()
    out.h2("What direct transfer runs on (synthetic world)")
    out.p("Does the English teacher, which direct transfer applies to foreign documents, align each language's "
          "words with their English translations? Out of context: each concept's foreign form, encoded alone, "
          "retrieves its English form among every concept's (P@1; chance 1 / number of concepts), for cognates "
          "(forms derived from the English form by sound correspondences) and native words apart. In context: in "
          "bitext pairs no student trained on, how often a foreign word's nearest English word of the same sentence "
          "means the same as its translation: for words that share a sub-word token with their translation (names, "
          "years and some cognates), for cognates that do and the other cognates, and for native words; for "
          "native words also chance (the share of the sentence's English words that translate it) and the hits "
          "among words whose translation is not at the same relative place (position alone cannot score those). "
          "OPTICAL's student, encoding the foreign side against the teacher's English, is a control: it learnt "
          "alignment from bitext. Where the teacher finds native words at chance, direct transfer cannot use them "
          "(docs/calibration.md, \"What direct transfer runs on\"). Means over seeds (optical.probe; every row in "
          "results/probe/).")
    skipped = sorted(set(ctx.probe.language[ctx.probe.context_native_words == 0]))
    if skipped:
        out.p(f"No in-context probe for {', '.join(pair_name(x) for x in skipped)}: the run sampled every bitext "
              "pair of the world, so none was left that no student saw (languages.<code>.bitext_pairs below "
              "world.languages.<code>.bitext_pairs runs it).")
    cell = lambda v: "–" if v != v else f"{v:.3f}"  # noqa: E731  (NaN: no word of that class)
    rows = [[pair_name(lang), model, f"{r.cognates:,.0f}", *(cell(getattr(r, c)) for c in NUMBERS)]
            for (lang, model), r in means.iterrows()]
    out.table(["pair", "model", "cognate concepts", "P@1 cognates", "P@1 native words", "in context: shared token",
               "cognates sharing a token", "other cognates", "native words", "native: chance",
               "native: off the place"], rows)
    return out
