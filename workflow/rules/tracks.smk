# Encoder tracks (config key tracks, optical.tracks): each named config file runs this whole workflow
# as a Snakemake module under results/tracks/<name>/, its rules named <name>_<rule>. The NMT rules
# are left out: the track reads the main run's NMT models and translations (common.smk: shared),
# which check_shared makes sure it would have trained identically. The main report adds each
# track's report as a part (report.smk).
from optical.tracks import check_shared, load_track

for TRACK, TRACK_FILE in TRACKS.items():
    TRACK_CONFIG = load_track(TRACK, TRACK_FILE, workflow.basedir)
    validate(TRACK_CONFIG, schema="../schemas/config.schema.yaml")  # fills defaults, as the main config's
    check_shared(config, TRACK_CONFIG, TRACK, TRACK_FILE)
    TRACK_RULES = f"{TRACK}_"
    # what a `module` statement compiles to; the statement itself takes only a literal name
    workflow.module(TRACK, snakefile="../../Snakefile", config=TRACK_CONFIG, prefix=track_prefix(TRACK))

    # (Snakemake resolves TRACK and TRACK_RULES, variables here, to this track's module and rule prefix)
    use rule * from TRACK exclude all, nmt_train, nmt_pretrained, nmt_translate_documents, \
        nmt_translate_queries as TRACK_RULES*

