"""The language-model job: a decoder-only `CausalLM` trained on documents,
scored by held-out perplexity and bits per character beside the unigram and
bigram models of the same text (`LanguageModelJob.run()`, `LanguageModel`)."""

import math
from pathlib import Path

import tensorflow as tf

from tf_models.data.pipelines import language_model_dataset, token_stream
from tf_models.data.tokenizers import END, CharacterTokenizer, train_character_tokenizer
from tf_models.inference.text_generator import TextGenerator
from tf_models.jobs.common import compile_options, learn_wordpiece_tokenizer, run_tokenizer
from tf_models.jobs.corpora import job_documents
from tf_models.jobs.template import Batches, JobTemplate
from tf_models.models import CausalLM
from tf_models.training import compile_causal_lm
from tf_models.training.baselines import ngram_cross_entropy

CHARACTERS_FILE = "characters.json"


class LanguageModel(JobTemplate):
    """The language-model job's slots (`LanguageModelJob`): a `CausalLM` on
    documents, scored by held-out perplexity and bits per character."""

    model_file = "causal_lm.keras"
    memory_advice = "lower --batch-size or --sequence-length if memory ran out"

    def load_data(self):
        self.documents, self.held_out = job_documents(self.job)
        print(f"documents: {len(self.documents)} for training, {len(self.held_out)} held out")

    def make_tokenizer(self):
        job, texts = self.job, [" ".join(document) for document in self.documents]
        if job.tokens == "characters":
            tokenizer = train_character_tokenizer(texts, self.output_dir / CHARACTERS_FILE,
                                                  max_characters=job.vocabulary_size)
        elif job.tokens == "wordpiece":
            tokenizer = learn_wordpiece_tokenizer(job, self.output_dir, self.strategy, texts,
                                                  reserved_tokens=("[PAD]", "[UNK]", END))
        else:
            raise ValueError(f"tokens must be characters or wordpiece, got {job.tokens!r}.")
        return tokenizer

    def make_batches(self, tokenizer):
        job = self.job
        self.stream = token_stream(self.documents, tokenizer, tokenizer.end_id)
        print(f"{job.tokens}: {tokenizer.vocabulary_size} tokens in the vocabulary, {len(self.stream):,} in the "
              f"training text")

        def train_data():
            return language_model_dataset(self.stream, job.sequence_length, job.batch_size, seed=job.seed)

        steps_per_epoch = max(job.steps // 4, 1)  # four progress reports
        return Batches(train_data, steps_per_epoch, epochs=-(-job.steps // steps_per_epoch))

    def make_model(self, tokenizer, total_steps):
        job = self.job
        overrides = {} if job.dropout is None else {"dropout": job.dropout}
        model = CausalLM.from_preset(job.preset, vocabulary_size=tokenizer.vocabulary_size, **overrides)
        if job.sequence_length > model.max_sequence_length:
            raise ValueError(f"sequence_length {job.sequence_length} exceeds the preset's context "
                             f"{model.max_sequence_length}.")
        # The schedule ends at --steps, which the epochs may round up.
        compile_causal_lm(model, job.steps, peak_learning_rate=job.peak_learning_rate, **compile_options(job))
        return model

    def describe(self, model, batches):
        return f"CausalLM '{self.job.preset}': {model.count_params():,} parameters"

    def evaluate(self, model, tokenizer):
        return evaluate_language_model(model, tokenizer, self.stream, self.held_out, self.job)

    def tokenizer(self):
        run = Path(self.job.output_dir)
        return CharacterTokenizer(run / CHARACTERS_FILE) if self.job.tokens == "characters" else run_tokenizer(run)

    def inference_modules(self, decoding=None):
        """`{"text_generator": TextGenerator}`, decoding as the run's samples
        were made unless `decoding` (a `DecodingConfig`) says otherwise."""
        generator = text_generator(self.trained_model(), self.tokenizer(), self.job, decoding)
        return {generator.TASK: generator}


def held_out_nats(model, stream, sequence_length, batch_size=32):
    """Total negative log-likelihood (nats) of every token of `stream` after
    its first, and how many tokens that is."""
    total, count = 0.0, 0
    for inputs, labels in language_model_dataset(stream, sequence_length, batch_size, shuffle=False,
                                                 drop_remainder=False):
        logits = tf.cast(model.predict_on_batch(inputs)["logits"], tf.float32)  # (B, L, V)
        labels = labels["logits"]
        nats = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        real = tf.cast(labels != 0, tf.float32)
        total += float(tf.reduce_sum(nats * real))
        count += int(tf.reduce_sum(real))
    return total, count


def evaluate_language_model(model, tokenizer, train_stream, held_out, job):
    """Held-out perplexity and bits per character, beside unigram and bigram
    models counted on the training text (`train_stream`, its token ids);
    samples from the prompts."""
    test_stream = token_stream(held_out, tokenizer, tokenizer.end_id)
    # Every character of the held-out text, an [END] counted as one.
    characters = sum(len(" ".join(document)) + 1 for document in held_out)
    nats, tokens = held_out_nats(model, test_stream, job.sequence_length)

    def scores(mean_nats):
        total = mean_nats * tokens
        return {"perplexity": math.exp(mean_nats), "bits_per_character": total / math.log(2) / characters,
                "nats_per_token": mean_nats}

    results = {**scores(nats / tokens), "held_out_tokens": tokens, "held_out_characters": characters}
    baselines = {}
    for order, name in ((1, "unigram"), (2, "bigram")):
        # The tokens the model predicts: all but the first.
        cross_entropy = ngram_cross_entropy(train_stream, test_stream, tokenizer.vocabulary_size, order,
                                            skip_first=True)
        baselines.update({f"{name}_{key}": value for key, value in scores(cross_entropy).items()})
    results["baselines"] = baselines
    print(f"held-out perplexity {results['perplexity']:.2f}, {results['bits_per_character']:.3f} bits per "
          f"character ({tokens:,} tokens of {job.tokens}, {characters:,} characters)")
    print(f"  baselines on the same text: unigram perplexity {baselines['unigram_perplexity']:.2f} "
          f"({baselines['unigram_bits_per_character']:.3f} bits/char), bigram {baselines['bigram_perplexity']:.2f} "
          f"({baselines['bigram_bits_per_character']:.3f} bits/char)")
    if results["perplexity"] >= baselines["bigram_perplexity"]:
        print("  the model does NOT beat the bigram model")
    results["samples"] = samples(model, tokenizer, job)
    return results


def text_generator(model, tokenizer, job, decoding=None):
    """The run's `TextGenerator`: `job.sample_length` new tokens at most, inside
    the `sequence_length` positions the model was trained on (past them the
    position embeddings are untrained and the text turns to noise)."""
    return TextGenerator(model, tokenizer, max_new_tokens=job.sample_length, context_length=job.sequence_length,
                         decoding=decoding or job.decoding)


def samples(model, tokenizer, job):
    """A continuation of each of `job.prompts`, as the run's export makes it."""
    continuations = text_generator(model, tokenizer, job).complete(list(job.prompts))
    for prompt, text in zip(job.prompts, continuations):
        print(f"  {prompt!r} -> {text!r}")
    return [{"prompt": prompt, "continuation": text} for prompt, text in zip(job.prompts, continuations)]

