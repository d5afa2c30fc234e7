import copy
import filecmp
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from optical.data.synthetic import WorldSpec, write_world
from optical.data.wikiclir import WIKICLIR_DIRS


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_same_seed_gives_byte_identical_files(tmp_path, small_world):
    write_world(WorldSpec.from_config(small_world), tmp_path / "a")
    write_world(WorldSpec.from_config(small_world), tmp_path / "b")
    files = _files(tmp_path / "a")
    assert files == _files(tmp_path / "b")
    assert len(files) > 10
    for f in files:
        assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f


def test_other_seed_gives_other_world(tmp_path, small_world):
    write_world(WorldSpec.from_config(small_world), tmp_path / "a")
    other = copy.deepcopy(small_world)
    other["seed"] += 1
    write_world(WorldSpec.from_config(other), tmp_path / "b")
    q = "ir_datasets/wikiclir/source/wiki-clir/english/wiki_en.queries"
    assert (tmp_path / "a" / q).read_text() != (tmp_path / "b" / q).read_text()


def test_languages_differ_in_lexicon_order_and_resources(tmp_path, small_world):
    manifest = write_world(WorldSpec.from_config(small_world), tmp_path)
    bitext = {c: pq.read_table(tmp_path / "bitext" / f"en-{c}.parquet").to_pydict() for c in small_world["languages"]}
    en_vocab = {w for s in bitext["sw"]["src"] for w in s.split()}
    for code, bt in bitext.items():
        assert len(bt["src"]) == len(bt["tgt"]) == small_world["languages"][code]["bitext_pairs"]
        xx_vocab = {w for s in bt["tgt"] for w in s.split()}
        shared = en_vocab & xx_vocab
        # only anchors (names, years, punctuation) are shared with English
        assert len(shared) < 0.2 * len(xx_vocab), (code, len(shared), len(xx_vocab))
    mono = manifest["mono_sentences"]
    assert mono["en"] > max(v for k, v in mono.items() if k != "en")


def test_wikiclir_tree_is_consistent(tmp_path, small_world):
    write_world(WorldSpec.from_config(small_world), tmp_path)
    base = tmp_path / "ir_datasets/wikiclir/source/wiki-clir"
    qids = {l.split("\t")[0] for l in (base / "english/wiki_en.queries").read_text().splitlines()}
    assert len(qids) == small_world["n_subjects"]
    for code in small_world["languages"]:
        d = base / WIKICLIR_DIRS[code]
        docs = {l.split("\t")[0] for l in (d / f"wiki_{code}.documents").read_text().splitlines()}
        rels = [l.split() for l in (d / f"en2{code}.rel").read_text().splitlines()]
        assert rels and all(q in qids and doc in docs and g in ("1", "2") for q, doc, g in rels)
        mates = [q for q, _, g in rels if g == "2"]
        assert len(mates) == len(set(mates)) == len(docs)  # one mate per query, one query per document
        gold = (tmp_path / "translations" / f"wiki_{code}.en.documents").read_text().splitlines()
        assert {l.split("\t")[0] for l in gold} == docs


def test_adding_a_language_leaves_the_others_unchanged(tmp_path, small_world):
    one = copy.deepcopy(small_world)
    one["languages"] = {"sw": small_world["languages"]["sw"]}
    write_world(WorldSpec.from_config(one), tmp_path / "one")
    write_world(WorldSpec.from_config(small_world), tmp_path / "all")
    for rel in ["bitext/en-sw.parquet", "ir_datasets/wikiclir/source/wiki-clir/swahili/en2sw.rel",
                "ir_datasets/wikiclir/source/wiki-clir/english/wiki_en.queries"]:
        assert filecmp.cmp(tmp_path / "one" / rel, tmp_path / "all" / rel, shallow=False), rel


# --- issue 13's knobs: what lets real encoders transfer -----------------------------------------

def _identical_trees(a: Path, b: Path, only=None) -> bool:
    files = [f for f in _files(a) if only is None or str(f).startswith(only)]
    return files == [f for f in _files(b) if only is None or str(f).startswith(only)] and \
        all(filecmp.cmp(a / f, b / f, shallow=False) for f in files)


def test_knobs_at_their_neutral_values_leave_the_world_unchanged(tmp_path, plain_world):
    write_world(WorldSpec.from_config(plain_world), tmp_path / "absent")
    neutral = copy.deepcopy(plain_world)
    neutral.update(cased=False, name_syllables=[3, 4])
    neutral["english"]["morph_prob"] = 0.0
    for spec in neutral["languages"].values():
        spec.update(cognate_share=0.0, cognate_shift=0.5, code_switch_prob=0.0)
    write_world(WorldSpec.from_config(neutral), tmp_path / "neutral")
    assert _identical_trees(tmp_path / "absent", tmp_path / "neutral")


def _world(plain_world, **language):
    from optical.data.synthetic import World
    w = copy.deepcopy(plain_world)
    for spec in w["languages"].values():
        spec.update(language)
    return World(WorldSpec.from_config(w))


def test_cognates_are_english_forms_under_regular_sound_correspondences(plain_world):
    unshifted = _world(plain_world, cognate_share=0.4, cognate_shift=0.0)
    english = unshifted.lexicons["en"].forms
    cognate = [a == b for a, b in zip(unshifted.lexicons["sw"].forms, english)]
    assert 0.3 < sum(cognate) / len(cognate) < 0.45  # the share, less derived forms that would collide
    shifted = _world(plain_world, cognate_share=0.4, cognate_shift=0.5).lexicons["sw"].forms
    native = _world(plain_world).lexicons["sw"].forms
    correspondences: dict[str, set[str]] = {}
    for is_cognate, form, en, own in zip(cognate, shifted, english, native):
        if is_cognate and form != own:  # the same concepts are cognates whatever the shift
            assert len(form) == len(en)
            for a, b in zip(en, form):
                correspondences.setdefault(a, set()).add(b)
    assert all(len(targets) == 1 for targets in correspondences.values())  # regular: one letter, one outcome
    changed = {a for a, b in correspondences.items() if b != {a}}
    assert changed and changed != set(correspondences)  # some letters change, some stay


def _correspondences(world, native, lang: str) -> dict[str, str]:
    """The sound correspondences as the world's cognates show them: English form -> cognate form,
    letter by letter, over the concepts whose form is not the native one (``native``: the same world
    without cognates)."""
    english, forms, own = world.lexicons["en"].forms, world.lexicons[lang].forms, native.lexicons[lang].forms
    out: dict[str, str] = {}
    for en, form, native_form in zip(english, forms, own):
        if form != native_form:
            for a, b in zip(en, form, strict=True):
                out.setdefault(a, b)
    return out


@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 1.0])
def test_cognate_shift_changes_the_same_number_of_letters_in_every_language(plain_world, shift):
    """Amendment 5: a chance per letter let one language's cognates sit much closer to English than
    another's; now each class changes round(shift * n) letters (Python's round: half to even), each
    into another letter of the language's class, seen in the world's cognates themselves."""
    for seed in (13, 14):
        w = copy.deepcopy(plain_world)
        w["seed"] = seed
        world, native = _world(w, cognate_share=1.0, cognate_shift=shift), _world(w)
        en = world.spec.english
        for code, ls in world.spec.languages.items():
            seen = _correspondences(world, native, code)
            for source, target in ((en.consonants, ls.consonants), (en.vowels, ls.vowels)):
                assert set(source) <= set(seen), (code, "some English letter never shows in a cognate")
                moved = [a for a in source if seen[a] != a]
                assert len(moved) == round(shift * len(source)), (seed, code, source, moved)
                assert all(seen[a] in target for a in moved)


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_cognate_share_zero_shares_no_form_and_one_gives_every_concept_a_cognate(plain_world, share):
    world = _world(plain_world, cognate_share=share, cognate_shift=0.0)  # no shift: a cognate is the English form
    english = world.lexicons["en"].forms
    for lang in plain_world["languages"]:
        forms = world.lexicons[lang].forms
        same = sum(a == b for a, b in zip(forms, english))
        if share == 0.0:  # no word form of the language is an English word at all
            assert same == 0 and not set(forms) & set(english)
        else:
            assert same == len(forms) == len(english)


def test_cased_world_capitalises_names_and_sentence_starts(tmp_path, plain_world):
    w = copy.deepcopy(plain_world)
    w["cased"] = True
    write_world(WorldSpec.from_config(w), tmp_path / "cased")
    write_world(WorldSpec.from_config(plain_world), tmp_path / "plain")
    docs = "ir_datasets/wikiclir/source/wiki-clir/swahili/wiki_sw.documents"
    cased = (tmp_path / "cased" / docs).read_text().splitlines()
    plain = (tmp_path / "plain" / docs).read_text().splitlines()
    assert not any(c.isupper() for line in plain for c in line)
    for c, p in zip(cased, plain):
        _, title, text = c.split("\t")
        assert title[0].isupper() and c.lower() == p.lower()  # only case differs
        sentences = [s.split() for s in text.split(" . ") if s.strip(" .")]
        assert all(not s[0][0].islower() for s in sentences)  # capitalised (or a year)
        assert title in text  # the name, capitalised, inside the text too


def test_name_lengths_can_match_word_lengths(plain_world):
    from optical.data.synthetic import World
    w = copy.deepcopy(plain_world)
    w["name_syllables"] = [1, 3]
    names = World(WorldSpec.from_config(w)).names
    assert min(map(len, names)) <= 3  # one syllable (plus a closing consonant), as short as content words


def test_code_switching_touches_only_monolingual_text(tmp_path, plain_world):
    switched = copy.deepcopy(plain_world)
    for spec in switched["languages"].values():
        spec["code_switch_prob"] = 0.3
    write_world(WorldSpec.from_config(switched), tmp_path / "switched")
    write_world(WorldSpec.from_config(plain_world), tmp_path / "plain")
    for part in ("ir_datasets", "bitext", "translations", "msmarco", "mmarco"):
        assert _identical_trees(tmp_path / "switched", tmp_path / "plain", only=part), part
    assert (tmp_path / "switched" / "mono" / "en.txt").read_text() == (tmp_path / "plain" / "mono" / "en.txt").read_text()
    from optical.data.synthetic import World
    english = set(World(WorldSpec.from_config(plain_world)).lexicons["en"].forms)
    words = (tmp_path / "switched" / "mono" / "sw.txt").read_text().split()
    plain = (tmp_path / "plain" / "mono" / "sw.txt").read_text().split()
    assert len(words) == len(plain)
    changed = sum(a != b for a, b in zip(words, plain))
    assert changed > 0.1 * len(words) and all(a in english for a, b in zip(words, plain) if a != b)


def test_english_morphology_suffixes_english_words(tmp_path, plain_world):
    w = copy.deepcopy(plain_world)
    w["english"]["morph_prob"] = 0.5
    write_world(WorldSpec.from_config(w), tmp_path / "morph")
    write_world(WorldSpec.from_config(plain_world), tmp_path / "plain")
    morph = set((tmp_path / "morph" / "mono" / "en.txt").read_text().split())
    plain = set((tmp_path / "plain" / "mono" / "en.txt").read_text().split())
    assert len(morph - plain) > 0.2 * len(plain)  # new word forms: stems with suffixes
