"""What pretraining buys on SST-2: a BERT pretrained by tf_models vs the same
model from random weights, fine-tuned and scored on the dev set.

Pretraining reads SST-2's own training sentences with their labels dropped
(in-domain text; documents of 8 consecutive phrases, the file's order). Both
models are then fine-tuned with identical settings; the one from random
weights learns its vocabulary from the same text.

    python -m benchmarks.sst2_pretraining --data-dir ../shared/data/sst2
    python -m benchmarks.sst2_pretraining --preset mini --steps 5000 --epochs 3

Writes the runs and `results.json` under --output-dir and prints the dev
accuracies. About 30 minutes on a 2-core CPU with the defaults.
"""

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.common import write_results  # noqa: E402
from tf_models import jobs  # noqa: E402
from tf_models.data import sst2  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data/sst2", help="folder with train.tsv and dev.tsv")
    parser.add_argument("--output-dir", default="runs/sst2_pretraining")
    parser.add_argument("--preset", default="tiny", help="BERT preset of both models")
    parser.add_argument("--vocabulary-size", type=int, default=8000)
    parser.add_argument("--max-sequence-length", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1000, help="pretraining steps (batch 64)")
    parser.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs")
    parser.add_argument("--peak-learning-rate", type=float, default=5e-4, help="fine-tuning peak, both models")
    args = parser.parse_args()

    work = Path(args.output_dir)
    work.mkdir(parents=True, exist_ok=True)
    phrases = list(sst2(args.data_dir, "train").texts[0])
    documents = ["\n".join(phrases[i : i + 8]) for i in range(0, len(phrases), 8)]
    (work / "sst2_text.txt").write_text("\n\n".join(documents) + "\n")

    pretraining = jobs.PretrainingJob(
        output_dir=str(work / "pretraining"), source="files", document_files=(str(work / "sst2_text.txt"),),
        preset=args.preset, vocabulary_size=args.vocabulary_size, max_sequence_length=args.max_sequence_length,
        batch_size=64, steps=args.steps, held_out_documents=100, verbose=2,
    ).run()
    common = dict(source="sst2", data_dir=args.data_dir, max_sequence_length=args.max_sequence_length,
                  epochs=args.epochs, peak_learning_rate=args.peak_learning_rate, verbose=2)
    pretrained = jobs.FinetuningJob(output_dir=str(work / "pretrained"), init=str(work / "pretraining"), **common).run()
    scratch = jobs.FinetuningJob(output_dir=str(work / "scratch"), preset=args.preset,
                                 vocabulary_size=args.vocabulary_size, **common).run()

    rows = [{"start": "pretrained", "dev_accuracy": pretrained["accuracy"]},
            {"start": "from_scratch", "dev_accuracy": scratch["accuracy"]}]
    write_results(work / "results.json", "sst2_pretraining", args, rows, pretraining=pretraining)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
