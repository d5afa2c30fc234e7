from optical.workflow import setup_logging

setup_logging(snakemake.log[0])

import logging

from optical.data.msmarco import export_irds_triples, export_triples

inp, p = snakemake.input, snakemake.params
if p.irds["home"] is None:  # the synthetic world's MS MARCO / mMARCO files
    n = export_triples(inp.collection, inp.queries, inp.triples, snakemake.output[0], 0, p.seed)
else:  # the paper setting: ir_datasets ids (English queries, passages of the same ids)
    i = p.irds
    n = export_irds_triples(i["home"], i["docpairs"], i["queries"], i["docs"], snakemake.output[0],
                            i["max_triples"], p.seed)
logging.info("%d triples written", n)
