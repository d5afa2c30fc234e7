#!/usr/bin/env bash
# The GPU check (docs/tests.md), run on a machine with CUDA where torch, transformers, tokenizers,
# safetensors, sacrebleu, pyarrow, pandas and pytest are installed; POT and seqeval may come as wheels in .whl/:
#   bash benchmarks/gpu_check.sh [OUT_DIR]
# 1. every trainer of the package on the GPU (tests/test_trainer.py with OPTICAL_TEST_DEVICE=cuda):
#    each records its run, and each, SIGKILLed after saving its state, resumes to bitwise the same weights;
#    then re-ranking, NER (training and prediction) and NMT (training and translation) tests on the GPU;
# 2. the training-step timings on the GPU, with multilingual-e5-small's shapes too;
# 3. re-ranking (the pipeline's rerank) with mBERT-base's encoder shapes, extrapolated to WikiCLIR sw.
set -o pipefail
out=${1:-/tmp/gpu_check}
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD/src:$PWD/tests${PYTHONPATH:+:$PYTHONPATH} OPTICAL_TEST_DEVICE=cuda PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, transformers, ot; print('torch', torch.__version__, 'transformers', transformers.__version__, 'POT', ot.__version__)" | tee -a "$out/gpu.txt"
python3 -m pytest -p no:cacheprovider -q tests/test_trainer.py 2>&1 | tee "$out/trainers.log"
python3 -m pytest -p no:cacheprovider -q tests/test_rerank.py tests/test_ner.py tests/test_nmt.py 2>&1 | tee "$out/inference.log"
python3 benchmarks/pipeline.py --skip-cold --device cuda --e5-shapes 2>&1 | tee "$out/steps_cuda.log"
python3 benchmarks/rerank_shapes.py --device cuda 2>&1 | tee "$out/rerank_shapes.log"
