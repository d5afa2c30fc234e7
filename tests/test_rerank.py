"""Re-ranking: batched query and document encoding gives the scores of encoding one text at a time,
and chunking the documents (bounded memory on real collections) changes nothing."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from optical import io, models
from optical.evaluate.rerank import candidates_by_chunk, rerank
from conftest import TEST_DEVICE


TEXTS = ["the dog runs home fast", "a cat sleeps", "big red house near the old tree", "dog", "home tree cat dog"]


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    from transformers import BertModel
    d = tmp_path_factory.mktemp("colbert") / "m"
    tok = models.train_tokenizer(TEXTS * 20, 80)
    torch.manual_seed(0)
    bert = BertModel(models.build_mlm(len(tok), {"hidden_size": 16, "num_layers": 1, "num_heads": 2,
                                                  "intermediate_size": 32, "max_position_embeddings": 32}).config,
                     add_pooling_layer=False)
    models.ColBERT(bert, 8, 12, 24).save(d, tok)
    return d


def _one_at_a_time(model_dir, query, doc):
    model, tok = models.ColBERT.load(model_dir)
    model.eval()
    with torch.inference_mode():
        q = models.encode_batch(tok, [query], model.query_max_length, "cpu")
        d = models.encode_batch(tok, [doc], model.doc_max_length, "cpu")
        return models.maxsim(model(q["input_ids"], q["attention_mask"]), q["content"],
                             model(d["input_ids"], d["attention_mask"]), d["content"]).item()


def test_batched_rerank_scores_equal_one_text_at_a_time(scorer, tmp_path):
    queries = {"q1": "dog home", "q2": "red tree", "q3": "cat"}
    docs = {f"d{i}": t for i, t in enumerate(TEXTS)}
    pq.write_table(pa.table({"query_id": list(queries), "text": list(queries.values())}), tmp_path / "q.parquet")
    cands = {"q1": {"d0": 0.0, "d3": 0.0, "d4": 0.0}, "q2": {"d2": 0.0, "d4": 0.0}, "q3": {"d1": 0.0, "d4": 0.0}}
    io.write_trec_run(tmp_path / "c.run", cands, "c")
    for chunk_docs in (100, 2):  # one chunk, and a query's candidates split over chunks
        rerank(str(scorer), str(scorer), str(tmp_path / "q.parquet"), docs, str(tmp_path / "c.run"),
               str(tmp_path / f"r{chunk_docs}.run"), "t", batch_size=2, threads=1, device=TEST_DEVICE,
               chunk_docs=chunk_docs)
        run = io.read_trec_run(tmp_path / f"r{chunk_docs}.run")
        for q, cs in cands.items():
            for d in cs:
                assert run[q][d] == pytest.approx(_one_at_a_time(scorer, queries[q], docs[d]), abs=2e-6)


def test_every_document_is_encoded_once_in_bounded_chunks():
    cands = {"a": {"d1": 0, "d2": 0}, "b": {"d2": 0, "d3": 0}, "c": {"d4": 0, "d5": 0, "d6": 0}}
    chunks, wanted = candidates_by_chunk(cands, 4)
    assert chunks == [["d1", "d2", "d3", "d4"], ["d5", "d6"]]  # d2 once, though two queries want it
    assert wanted == [{"a": ["d1", "d2"], "b": ["d2", "d3"], "c": ["d4"]}, {"c": ["d5", "d6"]}]
    chunks, wanted = candidates_by_chunk(cands, 1)
    assert [c for chunk in chunks for c in chunk] == ["d1", "d2", "d3", "d4", "d5", "d6"]
    assert sorted((q, d) for w in wanted for q, ds in w.items() for d in ds) == \
        sorted((q, d) for q, ds in cands.items() for d in ds)  # every pair scored exactly once


def test_padded_documents_score_as_padding_each_querys_candidates_alone(scorer):
    """The chunk is padded once to ``max_length``; a query's candidates are cut to their own
    longest, so the scores are bitwise those of padding the candidates alone (as before)."""
    from optical.evaluate.rerank import PaddedDocuments, encode_texts
    model, tok = models.ColBERT.load(scorer, TEST_DEVICE)
    model.eval()
    texts = TEXTS + [""]  # a document without content tokens scores as padding
    docs = PaddedDocuments(model, tok, texts, model.doc_max_length, 2, TEST_DEVICE)
    alone = encode_texts(model, tok, texts, model.doc_max_length, 2, TEST_DEVICE)
    assert docs.lengths == [len(v) for v in alone] == [5, 3, 7, 1, 4, 0]
    for row, v in enumerate(alone):  # left-aligned content vectors, zeros after them
        assert torch.equal(docs.vectors[row, :len(v)].cpu(), v) and not docs.vectors[row, len(v):].any()
    query = encode_texts(model, tok, ["dog home"], model.query_max_length, 2, TEST_DEVICE)[0]
    q_mask = torch.ones(1, len(query), dtype=torch.bool, device=TEST_DEVICE)
    for rows in ([0, 3, 4], [3, 1], [2], [5, 1]):  # longest 5 of 7, 3 of 7, the chunk's longest, one empty
        d, d_mask = (t.to(TEST_DEVICE) for t in models.pad_vectors([alone[r] for r in rows]))
        assert docs.maxsim(query, rows) == models.maxsim(query[None].to(TEST_DEVICE), q_mask, d, d_mask)[0].tolist()
    assert docs.maxsim(query, [5]) == [-1e4 * len(query)]  # only an empty candidate: no error
