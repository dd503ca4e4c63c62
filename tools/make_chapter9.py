"""Writes book/09_beyond.ipynb (cells only; outputs come from executing it).

The set-up cell is copied from chapter 1, so that every chapter starts the same way.
"""
from chapter_cells import code, load_setup_cell, md, write_chapter

setup = load_setup_cell()

cells = [
md("""# 9. Beyond FSER: the strongest honest recognizer we can train here

## Overview
Chapters 5 to 7 measured the paper's network at a budget a laptop affords and found it far
below the 95 % the paper reports. This chapter asks the other question: **how good can a
speech emotion recognizer trained from scratch on these three corpora become, honestly?**
We compare five kinds of model on exactly the same splits and seeds:

1. the paper's CNN on 64 x 64 colour pictures of mel-spectrograms (chapter 5);
2. a modern CNN on the single-channel log-mel spectrogram itself;
3. a temporal convolutional network on MFCCs, in the spirit of TIM-Net {cite}`ye2023timnet`;
4. the classical baseline: openSMILE's acoustic functionals {cite}`eyben2010opensmile` and a
   support-vector machine;
5. the same baseline after *speaker normalisation*: every feature standardised over the
   clips of its own speaker {cite}`busso2013iterative`. It needs several clips of the
   speaker at scoring time, so it answers a different question than the others
   (section 3).

Every hyper-parameter choice below was made on validation data; the test part of each split
is predicted once, by the model kept on validation accuracy. Sections 1 to 6 hold every model
to what this book's 2-core CPU trains in about half an hour; section 7 asks what that budget
cost, with the same recipes run longer: on this CPU after a fix that made its training
loop faster, and on a GPU. It then tries changes aimed at unseen speakers (a deeper or wider
network, stretched voices, per-clip standardisation, averaging over time shifts, training
against a speaker classifier), measures with a probe how much of the speaker the networks'
features still hold, and sets the recipe and the default model that the package now
uses, on validation data. Section 8 freezes the best 30-minute ensemble and states, before
its fresh seeds are trained, what will be reported.

## Prerequisites
Chapter 5 (splits, run folders, training profiles) and chapter 6 (intervals). The runs shown
here are stored in the repository (`results/beyond/`, and `results/beyond_longer/` and
`results/beyond_gpu/` for section 7; small CSV and JSON files, no models),
so the chapter renders without retraining; the command that made each run is printed with it.
"""),
code(setup.source, metadata=dict(setup.metadata)),
code("""import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fser_utils import evaluate as ev
from fser_utils import plotting
from fser_utils.compare import (compute_comparison_runs,
                                compute_comparison_table, compute_ensemble_predictions,
                                compute_ensemble_runs,
                                compute_ensemble_selection, compute_shared_cells,
                                compute_target_verdict, get_results_dir, TARGETS)
from fser_utils.config import get_stored_path
from fser_utils.registry import DEFAULT_MODEL, MODELS, describe_models
from fser_utils.run import Run
from fser_utils.train import PROFILES, describe_train_command

# one decimal, but small numbers (minutes of an SVM) keep two significant digits
pd.set_option("display.width", 120)
pd.set_option("display.float_format",
              lambda v: f"{v:.1f}" if v == 0 or abs(v) >= 0.1 else f"{v:.2g}")"""),
md("""## 1. The models
Each model is one entry of the package's model registry, tied to the feature kind it reads
and the training recipe it is meant for (`fser train --model NAME` picks all three):"""),
code("""describe_models()"""),
md("""Why each of them should help:

* **Log-mel CNN** (`logmel-cnn`). The paper squeezes a clip of any length into 64 x 64
  pixels and paints it through a colour map; a 3-s clip then loses most of its time
  resolution, and the colour map turns one loudness value into three correlated channels.
  Here the network reads 64 mel bands x 200 frames of 20 ms, after trimming the silence
  that opens every RAVDESS clip. Batch normalisation lets it train quickly at a high
  learning rate; global pooling over time (mean and maximum) makes it indifferent to
  *where* in the window the cue sits, and keeps the classifier tiny.
* **TCN on MFCCs** (`tcn`). Emotion lives in how pitch, energy and timbre *evolve*.
  Dilated causal convolutions see 2, 4, 8, ... frames back, forwards and backwards in
  time, and the network weighs the time scales it needs. This is our own, smaller
  re-implementation of TIM-Net's idea, not its authors' code. Its input is
  batch-normalised coefficient by coefficient (`input_norm`): raw MFCCs differ in scale
  by two orders of magnitude, the first sitting near -400 and the rest within tens.
* **openSMILE + SVM** (`svm-egemaps`, `svm-compare`). Decades of affective computing
  distilled into statistics of pitch, loudness, jitter, shimmer and spectral shape over the
  whole clip: 88 of them in eGeMAPS, 6373 in ComParE. No learning of features at all,
  which makes it the yardstick any network has to beat.
* **Speaker-normalised openSMILE + SVM** (`svm-egemaps-spk`, `svm-compare-spk`). Much of
  what separates two clips in these features is *who* speaks: a deep voice, a loud actor. Subtracting each
  speaker's mean and dividing by their spread leaves how far a clip sits from that
  speaker's usual voice, which is closer to what emotion changes. It uses no labels, but
  it does use the test speaker's other (unlabelled) test clips. That is why it is listed
  apart: it cannot score a single recording, and it assumes each speaker's clips span
  several emotions, as every actor's do in these corpora.
* **Speaker-normalised log-mel CNN** (`logmel-cnn-spk`). The same step for the network:
  each mel band is standardised over all of a speaker's speech frames (the classic
  cepstral mean and variance normalisation, done per speaker rather than per clip). The
  padding that centres a short clip in its 4-s window is left out of those statistics and
  set to one fixed value, so that it cannot tell the network anything about the speaker.
  Everything else, network and recipe, is `logmel-cnn`'s.

The networks are trained with the same kind of recipe: AdamW {cite}`loshchilov2019adamw`,
a short warm-up and cosine decay, label smoothing, and on every batch a random time shift,
SpecAugment masks {cite}`park2019specaugment` and mixup {cite}`zhang2018mixup`. The SVM's
regularisation `C` is picked on the validation part from a small grid. The TCN's recipe
(`tcn` below) leaves out label smoothing, SpecAugment and mixup. With them, and without
its input normalisation, the first version of this network underfitted: after 40 epochs
it fitted its own training clips no better than its validation clips, a sign that the
regularisation was holding it back rather than keeping it from memorising (those runs
stay in the repository's history, before commit `adcd52b`). Both changes were judged on
the validation part of one paper-split run (seed 42, 40 epochs), and the runs below are
the network as it is now. The log-mel networks' recipe (`cnn` below) and the TCN's
(`tcn`) now run 120 epochs; the comparison of sections 2 to 6 ran them for 40, and
section 7 shows why they changed."""),
code("""recipes = pd.DataFrame({name: PROFILES[name].asdict() for name in ("cpu", "cnn", "tcn")}).T
recipes[["epochs", "batch_size", "optimizer", "learning_rate", "schedule", "weight_decay",
         "label_smoothing", "augment", "specaugment", "mixup", "time_shift"]].astype(str)"""),
md("""## 2. One comparison
Every model is trained on the splits of chapter 5 with the same seeds: the paper's random
split (clips of one speaker on both sides), the speaker split (test speakers never heard in
training) and leave-one-corpus-out (protocol `corpus-X`: train on the other two corpora,
test on all of corpus X, a language never heard in training). Each row below averages its
seeds; the interval adds
the spread between seeds to the test-set uncertainty of each run (see
`fser_utils.compare`). Training time is wall-clock on this book's 2-core CPU; scoring time
is the median time to score one clip from its file (decode, features, model). For an SVM,
"parameters" counts the numbers it stores: its support vectors and their coefficients.

The row `ensemble` averages the class probabilities of several models. Its members are
chosen by greedy forward selection {cite}`caruana2004ensemble`: start with nothing, add the
model that raises the ensemble's validation accuracy most, and stop when no addition
raises it. All candidate sets are scored on the same clips, the (protocol, seed) cells in
which every model has a run; test predictions play no part. An earlier version of this
chapter fixed the ensemble in advance as the best network plus the best SVM. The selection
rule replaced it after the speaker-normalised log-mel CNN was added, and after one of its
test scores had been seen. So read the ensemble's test accuracy as chosen by a rule that
came after a glance at the test data, not as a blind result.

One caveat on the seeds: the feature code changed while these runs were being made. Since
then every clip's constant (DC) offset is removed before its features are computed
(chapter 2). Runs dated from 21:17 UTC on 25 November 2026 on (the date each run's
settings record, printed with its command below) used the new code; the earlier ones did
not. The offset touches mostly the lowest frequencies, but it means that some seeds differ
in a little more than their seed. Runs made since 26 November also record the commit of
the code that made them. From commit `dd47b3e` on, an SVM calibrates its probabilities only
for the `C` it keeps, not for every `C` it tries; the chosen `C` is the same, but SVM runs
made before that commit took longer to train. Likewise, most network runs in this table were
made before the training loop stopped handing its memory back to the system after each step
(commit `c181804`, 17:37 UTC on 26 November 2026; section 7), and these runs would now take
less time than the table says. The cell after the commands counts, per network and
protocol, the runs made after that commit; the table's training time is a median over the
seeds, so it mixes both kinds where a cell holds both."""),
code("""runs = compute_comparison_runs(sorted(get_results_dir().glob("*/")))
# an ensemble averages its members' class probabilities; the members are chosen by
# greedy forward selection on validation accuracy among all registered models
members = compute_ensemble_selection(runs, MODELS)
print("ensemble members, in the order selection added them:", " + ".join(members))
shared = compute_shared_cells(runs, set(runs["model"]))
print("chosen on the validation parts of:", ", ".join(f"{p} seed {s}" for p, s in shared))
runs = pd.concat([runs, compute_ensemble_runs(runs, members)], ignore_index=True)
table = compute_comparison_table(runs)
table[["seeds", "accuracy", "accuracy_low", "accuracy_high", "macro_f1", "macro_f1_low",
       "macro_f1_high", "val_accuracy", "params", "train_minutes", "scoring_ms"]]"""),
md("""The number of stored seeds per model and protocol, so that no gap hides in an
average (the cell checks that each cell holds three: seeds 42, 1 and 2):"""),
code("""coverage = runs[runs["model"] != "ensemble"].pivot_table(
    index="model", columns="protocol", values="seed", aggfunc="count", fill_value=0)
seeds = runs[runs["model"] != "ensemble"].groupby(["model", "protocol"])["seed"].agg(set)
assert (seeds == {42, 1, 2}).all(), "a model lacks a seed on some protocol"
coverage"""),
md("""Each run is reproducible with one command (`describe_train_command` reads it back from
the run's settings):"""),
code("""for run_dir in runs.loc[runs["model"] != "ensemble", "run"]:
    s = Run(run_dir).load_settings()
    made = s["date"][:16].replace("T", " ")
    code_note = f", code {s['code_commit']}" if s.get("code_commit") else ""
    print(f"{describe_train_command(s):75s} # {made} UTC{code_note}")"""),
code("""# network runs made after the faster training loop landed (the date each run recorded)
network_runs = runs[runs["model"].map(lambda m: m in MODELS and MODELS[m].family == "keras")]
after = network_runs["run"].map(lambda r: Run(r).load_settings()["date"] >= "2026-11-26T17:38")
network_runs.assign(after=after).pivot_table(index="model", columns="protocol",
                                             values="after", aggfunc="sum")"""),
code("""ax = plotting.plot_comparison(table)
ax.set_title("Honest test accuracy against training time, with published anchors")
plt.show()"""),
md("""How to read the figure: the horizontal lines are *other protocols*. The FSER paper's
95.05 % used a random split over four corpora and a test set that may have had twins of the
training clips (chapter 7); TIM-Net's 90 % are per-corpus 10-fold random splits; EmoBox's
numbers hold speakers out on RAVDESS alone, one with a large pretrained encoder. None of
them is the same experiment as ours, so the lines place our points, they do not score them."""),
md("""## 3. What speaker normalisation buys
Each speaker-normalised model differs from its plain twin only in the per-speaker step:
same features, same model and recipe (the same grid for an SVM's `C`), same splits and
seeds. Their difference run by run
(percentage points; positive: the normalised model is better), on test and on validation:"""),
code("""pairs = {"eGeMAPS SVM": ("svm-egemaps", "svm-egemaps-spk"),
         "ComParE SVM": ("svm-compare", "svm-compare-spk"),
         "log-mel CNN": ("logmel-cnn", "logmel-cnn-spk")}
gains = []
for pair, (plain, normalised) in pairs.items():
    both = runs[runs["model"].isin([plain, normalised])].pivot_table(
        index=["protocol", "seed"], columns="model", values=["accuracy", "val_accuracy"])
    if both.shape[1] < 4:
        continue  # one of the two has no stored run yet
    gains.append(pd.DataFrame({
        "pair": pair,
        "test gain": both[("accuracy", normalised)] - both[("accuracy", plain)],
        "validation gain": both[("val_accuracy", normalised)] - both[("val_accuracy", plain)],
    }).dropna())
gains = pd.concat(gains).reset_index()
gains.groupby(["pair", "protocol"])[["test gain", "validation gain"]].agg(
    ["mean", "min", "max", "count"])"""),
code("""names = [m for pair in pairs.values() for m in pair if m in table.index.get_level_values(0)]
pair_table = table.loc[names].reset_index()
acc = pair_table.pivot(index="protocol", columns="model", values="accuracy")[names]
low = pair_table.pivot(index="protocol", columns="model", values="accuracy_low")[names]
high = pair_table.pivot(index="protocol", columns="model", values="accuracy_high")[names]
# pandas wants (models, low/high, protocols) for asymmetric error bars
ax = acc.plot.bar(yerr=np.stack([(acc - low).T, (high - acc).T], axis=1), capsize=3, rot=0,
                  figsize=(11, 3.8),
                  color=["#9ecae1", "#3182bd", "#fdae6b", "#e6550d", "#a1d99b", "#31a354"][:len(names)])
ax.set_ylabel("test accuracy [%]")
ax.set_title("Each model without (light) and with (dark) speaker normalisation")
ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
plt.show()"""),
code("""mean_gain = gains.groupby("protocol")[["test gain", "validation gain"]].mean()
print("largest mean test gain:", mean_gain["test gain"].idxmax(),
      f"({mean_gain['test gain'].max():+.1f} points)")
print("smallest mean test gain:", mean_gain["test gain"].idxmin(),
      f"({mean_gain['test gain'].min():+.1f} points)")
agree = np.sign(mean_gain["test gain"]) == np.sign(mean_gain["validation gain"])
print("protocols where validation and test gains share their sign:",
      f"{agree.sum()} of {len(agree)}")"""),
md("""Validation is what a model is chosen on, so the last line matters: where validation
and test agree on the sign, choosing the normalised model on validation would have been
the right call. On the speaker split the test speakers are new, and what the step removes
(a speaker's usual pitch and loudness) is exactly what the model could not have learned
about them. On the leave-one-corpus-out protocols each speaker is normalised with their own
clips too, which also removes part of what differs between corpora (microphones, rooms, a
language's usual pitch). On the paper split, the same speakers are on both sides already.

The log-mel CNN gains less from the step than the SVMs, on unseen speakers and on the
held-out corpora alike (the table above), and on two of the held-out corpora its mean
validation gain is negative while its test gain is positive: there, choosing on
validation would have passed the step over. Two reasons for the smaller gain are likely. Each of its spectrograms is
already measured in decibels below the clip's own peak, so a speaker's loudness is gone
before the step. And standardising each mel band shifts and scales a speaker's timbre but
not their pitch, which moves the harmonics to other bands rather than changing a band's
level. The functionals, by contrast, hold a speaker's mean pitch and loudness as
features of their own, and those are exactly what the step removes.

The price is the deployment: `fser predict` with such a model takes all the files it is
given as clips of *one* speaker and refuses fewer than five; a single recording cannot be
scored.

## 4. Against the targets
The issue that opened this chapter set two targets for a model trained from scratch here in
under 30 minutes: 90 % on the paper split and 70 % on the speaker split. Each line below
names the model with the best mean **validation** accuracy in its group (best overall,
within 30 minutes, scoring a single clip) and reports that model's test accuracy; picking
the line's model by test accuracy would select on the test clips."""),
code("""# models that need a batch of one speaker's clips: the per-speaker ones, and an ensemble
# holding one of them
needs_batch = {m for m, spec in MODELS.items() if spec.speaker_norm}
if needs_batch & set(members):
    needs_batch.add("ensemble")
best = table.reset_index()
for protocol, target in TARGETS.items():
    rows = best[best["protocol"] == protocol]
    if rows.empty:
        print(f"{protocol} split: no run stored")
        continue
    top = rows.loc[rows["val_accuracy"].idxmax()]
    verdict = compute_target_verdict(top["accuracy_low"], top["accuracy_high"], target)
    print(f"{protocol} split: best {top['model']} {top['accuracy']:.1f} % "
          f"({top['accuracy_low']:.1f}-{top['accuracy_high']:.1f}), "
          f"{top['train_minutes']:.1f} min; target {target:.0f} %: {verdict}")
    fast = rows[rows["train_minutes"] <= 30]
    if not fast.empty:
        quick = fast.loc[fast["val_accuracy"].idxmax()]
        print(f"    best within 30 min of training: {quick['model']} {quick['accuracy']:.1f} %"
              f" ({quick['train_minutes']:.1f} min)")
    single = rows[~rows["model"].isin(needs_batch)]
    one = single.loc[single["val_accuracy"].idxmax()]
    print(f"    best that scores a single clip: {one['model']} {one['accuracy']:.1f} % "
          f"({one['accuracy_low']:.1f}-{one['accuracy_high']:.1f}), "
          f"{one['train_minutes']:.1f} min")
print("needing several clips of the speaker:", ", ".join(sorted(needs_batch)))"""),
md("""## 5. The best model on unseen speakers
The package's default model (what `fser train` trains and `fser predict` uses when no
model is named) must score a single clip, so it is neither an ensemble (not one registry
entry) nor a speaker-normalised model (it needs a batch of the speaker's clips). Among the
rest, it is chosen the way everything else in this book is chosen: by the mean
**validation** accuracy on the speaker split, each model at its own recipe. An earlier
version of this chapter picked it by test accuracy; the table below shows both, at the
budgets of section 2:"""),
code("""speaker = runs[runs["protocol"] == "speaker"].groupby("model")[["val_accuracy", "accuracy"]].mean()
single = speaker.drop("ensemble", errors="ignore")["val_accuracy"]
print("best validated on unseen speakers:", speaker["val_accuracy"].idxmax(),
      "; best validated single model:", single.idxmax())
one_clip = speaker[~speaker.index.isin(needs_batch | {"ensemble"})]
print("models that score a single clip, at section 2's budgets (mean over seeds, %):")
one_clip.sort_values("val_accuracy", ascending=False)"""),
md("""At these budgets the SVM on ComParE functionals validates best, while the log-mel CNN
tests best: the CNN's 40 epochs left it short of its budget (section 6). Section 7 trains
it for longer on this CPU and makes the final choice with the recipe the package now
uses."""),
md("""The per-class and per-corpus picture of the single model that validates best and of
the log-mel CNN, at section 2's budget (all seeds of the speaker split pooled); section 7
shows the package's default at its own recipe:"""),
code("""def show_speaker_split_breakdown(name, run_dirs):
    \"\"\"Confusion matrix and accuracy per corpus, all seeds' test clips pooled.\"\"\"
    pred = pd.concat([Run(r).load_predictions() for r in run_dirs], ignore_index=True)
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    matrix = ev.compute_confusion_matrix(pred["emotion"], pred["predicted"])
    plotting.plot_confusion_matrix(matrix, ax=axes[0])
    axes[0].set_title(f"{name}, unseen speakers: % of each true class")
    by_corpus = ev.compute_group_accuracy(pred, "corpus", n_boot=1000)
    plotting.plot_group_accuracy(by_corpus, "corpus", ax=axes[1],
                                 title=f"{name}: accuracy per corpus ({len(run_dirs)} seeds)")
    plt.tight_layout()
    plt.show()
    display(by_corpus)


for name in dict.fromkeys([single.idxmax(), "logmel-cnn"]):
    chosen = runs[(runs["model"] == name) & (runs["protocol"] == "speaker")]
    show_speaker_split_breakdown(name, list(chosen["run"]))"""),
md("""## 6. How the networks learned
Validation accuracy per epoch of the first seed of each network on each split. A curve
still rising at its last epoch says the budget, not the model, set the result."""),
code("""nets = runs[(runs["seed"] == 42)
            & runs["model"].isin(["logmel-cnn", "logmel-cnn-spk", "tcn", "fser"])]
n_cols = 4
n_rows = max(1, -(-len(nets) // n_cols))
fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.2 * n_cols, 3.2 * n_rows), squeeze=False,
                         sharey=True)
for ax in axes.flat[len(nets):]:
    ax.set_visible(False)
for ax, (_, r) in zip(axes.flat, nets.iterrows()):
    h = Run(r["run"]).load_history()
    ax.plot(h["epoch"] + 1, 100 * h["accuracy"], label="training (augmented)")
    ax.plot(h["epoch"] + 1, 100 * h["val_accuracy"], label="validation")
    ax.set_title(f"{r['model']}, {r['protocol']}")
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
for row in axes:
    row[0].set_ylabel("accuracy [%]")
axes[0][0].legend()
plt.tight_layout()
plt.show()"""),
md("""## 7. What a longer budget buys: a faster CPU loop, and a GPU
The curves above were still rising at the last of `logmel-cnn`'s 40 epochs, so the CPU
budget, not the network, may have set its result. Two things bought more epochs.

**A faster loop on this CPU.** The batch augmentation of the log-mel networks reaches
Keras through a generator dataset, and TensorFlow's generator datasets lower the C
library's trim threshold to 128 kB. From then on every training step handed its buffers
back to the operating system and faulted them in again at the next step. The training loop
now calls `keep_freed_memory` (in `fser_utils.devices`) at the first step of every epoch,
which lets the process keep what it frees. The arithmetic does not change (the first
epochs of a run repeat to the last digit), only the time. The benchmark below times a
`logmel-cnn` epoch in fresh processes with and without it, alternating between them:"""),
code("""memory = json.loads(get_stored_path("benchmarks/results/memory.json").read_text())
pd.DataFrame(memory["median"]).T.rename_axis("keep_freed_memory")"""),
code("""# medians over every timed epoch of every trial, each trial a fresh process
print(f"median epoch {memory['median']['off']['wall_s']:.1f} s without, "
      f"{memory['median']['on']['wall_s']:.1f} s with: {memory['speedup']:.2f} times faster "
      f"({memory['hardware']}; {memory['median']['on']['n_epochs']} epochs each)")"""),
md("""The kernel time and the page faults all but vanish. The wall-clock gain is smaller and
less certain, because the epochs of this virtual machine switch between a fast and a slow
speed whatever the setting (the single trials are stored in
`benchmarks/results/memory.json`); the real runs below are the better guide to what a run
now takes.

Most of the stored 40-epoch runs above were made before this change, so their training
times are those of the slower loop (section 2 counts the exceptions: the TCN's runs and
the later seeds of the held-out corpora). With the faster one, `logmel-cnn-spk` was trained again here
with 60 epochs instead of 40 (seeds 42, 1 and 2, paper and speaker splits), and, in a later
session, `logmel-cnn` with 120 and 300 epochs (seeds 42, 1 and 2, paper and speaker
splits). In a third session came three variants of the network at 120 epochs, described
below. All are stored in `results/beyond_longer/`, made one run after another with little
else running (where another job shared the CPU, the text says so).

**A faster machine.** This book's CPU is a virtual machine of a fixed size, two cores that
call themselves "AMD EPYC", but the hardware beneath it may change between sessions. The
epochs of the later session ran several times faster than those of the earlier one. To
tell the machine from the code, `benchmarks/bench_rerun.py` made one stored 60-epoch run
again on the later machine, with its own `fser train` command and the same code:"""),
code("""rerun = json.loads(get_stored_path("benchmarks/results/rerun.json").read_text())
print(rerun["command"], "\\n   made again on", rerun["hardware_now"])
both = pd.DataFrame({k: rerun[k] for k in ("stored", "rerun")}).T
both[["val_accuracy", "test_accuracy"]] = 100 * both[["val_accuracy", "test_accuracy"]].astype(float)
both[["date", "seconds_per_epoch", "val_accuracy", "test_accuracy"]]"""),
code("""print(f"the same run, {rerun['pace_ratio']:.1f} times faster per epoch on the later machine;"
      f" first epoch's training loss {rerun['stored']['first_epoch_loss']!r} before, "
      f"{rerun['rerun']['first_epoch_loss']!r} again")"""),
md("""Same command, same seed, same code: the later machine ran each epoch several times
faster, and its arithmetic differed from the first epoch on (the first loss is not the
same number), so the run took another path. Its test accuracy moved about
as much as another seed moves it; the intervals of this book add the spread between seeds
for that reason. A wall-clock budget on a virtual machine is therefore a property of the
day as much as of the recipe: runs now record the CPU's family and model beside its name,
and the budget table below states each budget at the fastest and at the slowest pace
measured here.

**A lent GPU.** This book's tasks are sometimes lent a
GPU for a few minutes (an NVIDIA H100 here). The
log-mel networks were trained there with **nothing changed but the number of epochs**
(the cosine schedule stretches over them): 120 and 300 epochs for `logmel-cnn`, 300 for
`logmel-cnn-spk`, seeds 42, 1 and 2 on the paper and speaker splits, the same splits as
above. One more run repeats the CPU recipe (40 epochs, seed 42, speaker split) on the GPU
as a control: it should land near the CPU run of the same seed.

The GPU machine has no corpora, so the features were computed here and carried there as
8-bit log-mel spectrograms (steps of 0.31 dB); `tools/device_beyond.py` holds both halves
and the package's own `train_model` does the training, as
`fser train --model logmel-cnn --epochs 300` would on a machine with the audio. Up to seven
runs shared the GPU at once (24 for the variants tried below), so its minutes are an upper
bound for one run alone. The GPU runs are stored in `results/beyond_gpu/`.

The last two columns of the table estimate what each budget takes on this book's 2-core
CPU with the faster loop: its epochs at the fastest and at the slowest pace of the CPU
runs of the same network made with that loop (seconds per epoch, printed above the
table). The plain CNN's variants that change only its input or its augmentation count as
one network; a network never trained on this CPU has no estimate."""),
code("""def with_budget(frame, device):
    \"\"\"``frame`` with the device it trained on, its training budget and the
    ``"model | budget"`` label that names a model at that budget in the tables below.\"\"\"
    budget = frame["epochs"].astype(int).astype(str) + " epochs, " + device
    return frame.assign(device=device, budget=budget, label=frame["model"] + " | " + budget)


def load_longer_runs(**where):
    \"\"\"Stored runs trained longer than their recipe, labelled with their budget.\"\"\"
    longer_runs = compute_comparison_runs(sorted(get_results_dir(**where).glob("*/")))
    return with_budget(longer_runs, "GPU" if where.get("gpu") else "CPU")


gpu_runs, cpu_long = load_longer_runs(gpu=True), load_longer_runs(longer=True)
long_runs = pd.concat([cpu_long, gpu_runs], ignore_index=True)
cpu_runs = with_budget(runs[runs["model"].isin(long_runs["model"])
                            & runs["protocol"].isin(long_runs["protocol"])], "CPU")
longer = pd.concat([cpu_runs, long_runs], ignore_index=True)
longer_table = compute_comparison_table(longer.assign(model=longer["label"]))
# what each label stands for: network, epochs, device
by_label = longer.drop_duplicates("label").set_index("label")[["model", "epochs", "device"]]


def network(name):
    \"\"\"The registered model of a section-2 model name or of a longer run's label.\"\"\"
    return by_label["model"].get(name, name)


# the pace of the faster loop, seconds per epoch, for each budget run on this CPU (the
# budgets ran in different sessions of the same kind of virtual machine)
paces = (60 * cpu_long["train_minutes"] / cpu_long["epochs"]).groupby(cpu_long["label"])
median_pace = paces.median()
print(median_pace.round(1).rename("seconds per epoch (median)").to_string())


def is_logmel_net(model):
    \"\"\"Built by the log-mel CNN's builder, whatever its layers.\"\"\"
    return MODELS[model].build is MODELS["logmel-cnn"].build


def is_plain_cnn(model):
    \"\"\"The log-mel CNN with its default layers (variants differ in input, augmentation or
    training objective).\"\"\"
    return is_logmel_net(model) and not MODELS[model].params


def pace_range(model):
    \"\"\"Fastest and slowest pace [min/epoch] of ``model``'s network on this CPU: the
    plain CNN's variants share one network, so all their runs measure the machine; any
    other network is measured by its own runs alone (NaN without any).\"\"\"
    same = [label for label in median_pace.index
            if (is_plain_cnn(network(label)) if is_plain_cnn(model)
                else network(label) == model)]
    return ((median_pace[same].min() / 60, median_pace[same].max() / 60) if same
            else (np.nan, np.nan))


def recipe_labels(device, keep):
    \"\"\"The labels of the budgets at the log-mel recipe's epochs on ``device`` whose
    network passes ``keep``.\"\"\"
    return [label for label in by_label.index
            if by_label.loc[label, "epochs"] == PROFILES["cnn"].epochs
            and by_label.loc[label, "device"] == device and keep(network(label))]


pace_fast, pace_slow = pace_range("logmel-cnn")
# what each budget would take on this CPU now, at the fastest and the slowest pace of its
# network (the deeper network's one run partly shared the CPU: an upper bound)
labels = longer_table.index.get_level_values(0)
epochs = by_label.loc[labels, "epochs"].to_numpy(dtype=float)
ranges = np.array([pace_range(network(label)) for label in labels])
longer_table["cpu_min_fast"], longer_table["cpu_min_slow"] = (epochs * ranges[:, 0],
                                                              epochs * ranges[:, 1])
longer_table[["seeds", "accuracy", "accuracy_low", "accuracy_high", "macro_f1",
              "val_accuracy", "train_minutes", "cpu_min_fast", "cpu_min_slow"]].sort_index()"""),
md("""Each GPU run is the `fser train` command below, run on the carried features (the
script adds only where the audio comes from):"""),
code("""for _, r in gpu_runs.iterrows():
    s = Run(r["run"]).load_settings()
    print(f"{describe_train_command(s):70s} # {s['hardware'].split('GPU: ')[-1]}, "
          f"{r['train_minutes']:.1f} min")"""),
code("""# every longer run, whatever its network, saw exactly the clips, and the parts, of the
# 40-epoch logmel-cnn run of the same split and seed
for _, r in long_runs.iterrows():
    twin = runs[(runs["model"] == "logmel-cnn") & (runs["protocol"] == r["protocol"])
                & (runs["seed"] == r["seed"])]
    a, b = (Run(d).load_split().sort_values("relpath").reset_index(drop=True)
            for d in (r["run"], twin["run"].iloc[0]))
    assert a[["relpath", "part"]].equals(b[["relpath", "part"]]), r["run"]
print(f"all {len(long_runs)} longer runs use the same clips in the same parts as the "
      f"40-epoch CPU runs of their split and seed")"""),
code("""control = gpu_runs[(gpu_runs["epochs"] == 40)].iloc[0]
twin = runs[(runs["model"] == control["model"]) & (runs["protocol"] == control["protocol"])
            & (runs["seed"] == control["seed"])].iloc[0]
print(f"control, {control['model']} {control['protocol']} seed {control['seed']}, 40 epochs:"
      f" GPU {control['accuracy']:.1f} %, CPU {twin['accuracy']:.1f} % "
      f"(difference {control['accuracy'] - twin['accuracy']:+.1f} points; the test-set "
      f"standard error of one run is about {twin['accuracy_se']:.1f})")"""),
code("""fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
summary = longer_table.reset_index().join(by_label.rename(columns={"model": "net"}), on="model")
# the networks trained at several budgets with three seeds (the variants tried at one
# budget have their own figure below)
summary = summary[summary["seeds"] >= 3]
summary = summary[summary.groupby(["net", "protocol"])["epochs"].transform("nunique") > 1]
# one colour per network and split, one line style per device
colours = plotting.compute_colours(summary.groupby(["net", "protocol"]).groups)
for (net, protocol, device), g in summary.groupby(["net", "protocol", "device"]):
    g = g.sort_values("epochs")
    axes[0].errorbar(g["epochs"], g["accuracy"], capsize=3, marker="o" if device == "CPU" else "s",
                     ls="-" if device == "CPU" else ":", color=colours[net, protocol],
                     yerr=[g["accuracy"] - g["accuracy_low"], g["accuracy_high"] - g["accuracy"]],
                     label=f"{net}, {protocol} split, {device}")
for target, style in ((90, ":"), (70, "--")):
    axes[0].axhline(target, color="grey", ls=style, lw=1)
axes[0].set(xticks=sorted(summary["epochs"].unique()), xlabel="epochs",
            ylabel="test accuracy [%]",
            title="Same recipe, more epochs (3 seeds each; targets dotted/dashed)")
axes[0].legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.18))
for budget, g in longer[(longer["model"] == "logmel-cnn") & (longer["protocol"] == "speaker")
                        & (longer["seed"] == 42)].sort_values(["epochs", "budget"]).groupby(
                            "budget", sort=False):
    h = Run(g["run"].iloc[0]).load_history()
    axes[1].plot(h["epoch"] + 1, 100 * h["val_accuracy"], label=budget)
axes[1].set(xlabel="epoch", ylabel="validation accuracy [%]",
            title="logmel-cnn, speaker split, seed 42")
axes[1].legend()
for ax in axes:
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()"""),
md("""**Four tries at the gap between seen and unseen speakers.** On the speaker split the
network trained for 120 epochs fits its training clips far better than it recognises new
voices. Three changes to it, each a registered model trained here with the 120-epoch recipe
and nothing else changed, and one change at scoring time:

* `logmel-cnn-deep`: two convolutions per block instead of one, three times the parameters
  and, in a timing of the layers, about three times the time per step. More capacity, in
  case the network was too small. It ran once (seed 42, speaker split), partly beside
  another job, so its minutes are an upper bound.
* `logmel-cnn-warp`: vocal tract length perturbation {cite}`jaitly2013vocal`. Every
  training spectrogram's mel axis is stretched by a random factor between 0.9 and 1.1
  (`freq_warp` of the profile), which moves the formants as a shorter or a longer vocal
  tract would, so the network meets more voices than the corpora hold. Scoring is unchanged.
* `logmel-cnn-clip`: each clip's bands standardised over the clip's own speech frames
  (`normalize_per_clip`), the single-clip counterpart of section 4's per-speaker
  standardisation. It takes away each recording's average spectrum, much of which is the
  voice and the microphone, and also whatever that average said about the emotion.
* Averaging over time shifts when scoring (test-time augmentation): each clip is scored as
  it is and rolled by 10 and 20 frames either way, and the probabilities are averaged
  (`compute_shift_averaged_proba`; `benchmarks/bench_tta.py` on the six 120-epoch CPU
  runs of `logmel-cnn`).

Each change is judged, like everything in this chapter, on validation accuracy:"""),
code("""# the plain network and the three tries, at the 120-epoch recipe on this CPU
tries = recipe_labels("CPU", lambda net: net in ("logmel-cnn", "logmel-cnn-deep",
                                                  "logmel-cnn-warp", "logmel-cnn-clip"))
on_tries = longer_table.loc[tries]
on_tries[on_tries.index.get_level_values("protocol").isin(["paper", "speaker"])][
    ["seeds", "val_accuracy", "accuracy", "accuracy_low", "accuracy_high", "macro_f1",
     "train_minutes"]].sort_index(level="protocol")"""),
code("""tta = json.loads(get_stored_path("benchmarks/results/tta.json").read_text())
tta = pd.DataFrame(tta["rows"]).pivot_table(index=["split", "part"], columns="shifts",
                                            values="accuracy") * 100
gain = tta.sub(tta["none"], axis=0).drop(columns="none")
print("accuracy [%] of logmel-cnn, 120 epochs, CPU (mean over 3 seeds), by shifts averaged:")
print(tta.round(1).to_string())
print("\\nvalidation gain over plain scoring, mean of the two splits [points]:")
print(gain.xs("val", level="part").mean().round(2).to_string())"""),
md("""**Four more changes to the network, tried on the GPU.** The lent GPU trains two dozen
runs of this size side by side in under six minutes, so four further variants of
`logmel-cnn`, each a registered model, were trained there with the 120-epoch recipe and
three seeds on both splits, nothing else changed:

* `logmel-cnn-delta`: the slope of each band over time (deltas) and the slope of that
  slope (delta-deltas) as two more input channels, computed inside the network by
  `TimeDeltas` from the same spectrogram. Speech recognisers have used such dynamic
  features for decades {cite}`furui1986dynamic`, and a three-channel log-mel input of this
  kind is common in emotion recognition {cite}`chen2018acrnn`.
* `logmel-cnn-att`: attentive statistics pooling {cite}`okabe2018attentive` instead of the
  mean and the maximum over time. A small layer scores every frame, and the time axis is
  summarised by the mean and the standard deviation weighted by those scores, so frames
  that carry the emotion can count more than pauses.
* `logmel-cnn-wide`: twice the channels in every block (four times the parameters), in
  case the plain network is too narrow rather than too shallow.
* `logmel-cnn-fine`: the first convolution at stride 1 instead of 2, so the first block
  sees every 20-ms frame and every mel band; about four times the computation.

Beside them, the plain network's GPU runs of section 7 at the same budget and seeds:"""),
code("""# the GPU runs of the log-mel networks at the 120-epoch recipe: the plain network and
# the variants that score a single clip
gpu_tries = recipe_labels("GPU", lambda net: is_logmel_net(net) and net not in needs_batch)
plain = f"logmel-cnn | {PROFILES['cnn'].epochs} epochs, GPU"
on_gpu_tries = longer_table.loc[gpu_tries].reset_index()
on_gpu_tries = on_gpu_tries[on_gpu_tries["protocol"].isin(["paper", "speaker"])]
base = on_gpu_tries[on_gpu_tries["model"] == plain].set_index("protocol")
on_gpu_tries["val gain"] = (on_gpu_tries["val_accuracy"]
                            - on_gpu_tries["protocol"].map(base["val_accuracy"]))
on_gpu_tries["test gain"] = (on_gpu_tries["accuracy"]
                             - on_gpu_tries["protocol"].map(base["accuracy"]))
on_gpu_tries.set_index(["protocol", "model"])[
    ["seeds", "params", "val_accuracy", "val gain", "accuracy", "test gain",
     "accuracy_low", "accuracy_high"]].sort_index()"""),
code("""fig, ax = plt.subplots(figsize=(8, 4.2))
gains = on_gpu_tries[on_gpu_tries["model"] != plain]
for protocol, marker in (("paper", "o"), ("speaker", "s")):
    g = gains[gains["protocol"] == protocol]
    ax.scatter(g["val gain"], g["test gain"], marker=marker, s=50, label=f"{protocol} split")
    for _, r in g.iterrows():
        ax.annotate(network(r["model"]).removeprefix("logmel-cnn-"),
                    (r["val gain"], r["test gain"]), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
ax.axhline(0, color="grey", lw=1)
ax.axvline(0, color="grey", lw=1)
ax.set(xlabel="validation gain over logmel-cnn [points]", ylabel="test gain [points]",
       title="Variants of the log-mel CNN, 120 epochs on the GPU (means of 3 seeds)")
ax.legend()
ax.grid(alpha=0.3)
plt.show()
worst_gain = gains.groupby("model")["val gain"].min()
helps_both = [network(m) for m in worst_gain[worst_gain > 0].index]
print("variants that gain validation accuracy on both splits:", ", ".join(helps_both) or "none")"""),
md("""Judged on validation, as always, only the wider network gains on both splits, by a
point or two; on the test parts it gains about a point on the random split and nothing on
unseen speakers. The deltas and the attentive pooling lose validation accuracy on both
splits, and the full-resolution first block gains a little on unseen speakers but loses on
the random split, at four times the computation. None of these moves is larger than the
spread between seeds, so the wider network was the one worth more budget: it was
trained for 300 epochs on the GPU and, at its 120-epoch recipe, on this CPU (three seeds
on both splits each), which makes it a candidate for the default model and for the ensembles below. On this CPU, beside the
plain network at the same recipe and seeds:"""),
code("""at_recipe_cpu = [f"{m} | {PROFILES['cnn'].epochs} epochs, CPU"
                 for m in ("logmel-cnn", "logmel-cnn-wide")]
longer_table.loc[at_recipe_cpu][["seeds", "params", "val_accuracy", "accuracy", "accuracy_low",
                                 "accuracy_high", "train_minutes"]].sort_index(level="protocol")"""),
md("""**Two tries aimed at unseen speakers, on this CPU.** Both were fixed before any of their
runs and trained with the 120-epoch recipe, three seeds on the speaker split (the
adversarial one on the paper split too; see below for the other):

* `logmel-cnn-wide-spk`: the wider network on spectrograms standardised per speaker. Each
  change on its own moved unseen-speaker accuracy up; this checks whether they add up.
  Like `logmel-cnn-spk`, it needs several clips of a speaker to score any of them.
* `logmel-cnn-adv`: domain-adversarial training {cite}`ganin2016dann`, with the training
  speakers as the domains. During training a small speaker classifier (one hidden layer
  of 128 units) reads the pooled features under the emotion classifier through a
  *gradient reversal*: going forwards the features pass unchanged, going backwards the
  speaker classifier's gradient reaches the network multiplied by -0.3. The speaker
  classifier thus learns to tell the speakers apart, while the network learns features
  that make this harder, i.e. that carry less of who is speaking
  (`build_speaker_adversary` in `fser_utils.networks`). The weight 0.3 was set once, not
  tuned. Only training changes: what is kept and scored is the plain network, so this
  model still scores a single clip.

The first adversary's runs left the speaker as easy to name from the features as before
(the probe below). Two follow-ups, decided after seeing that and before their own runs,
give the adversary more say, and log its own loss apart: `logmel-cnn-adv-strong`
reverses the speaker gradient at full weight (1.0), and `logmel-cnn-adv-ramp` raises
the weight from 0 to 1 along the schedule of {cite}`ganin2016dann`, so that the speaker
classifier can learn before it pushes back. Both were first trained on the speaker split
only, the split they are meant for.

Beside the networks they build on, at the same recipe and seeds on this CPU:"""),
code("""speaker_tries = recipe_labels("CPU", lambda net: net in (
    "logmel-cnn", "logmel-cnn-spk", "logmel-cnn-wide", "logmel-cnn-wide-spk", "logmel-cnn-adv",
    "logmel-cnn-adv-strong", "logmel-cnn-adv-ramp"))
longer_table.loc[speaker_tries][["seeds", "params", "val_accuracy", "accuracy", "accuracy_low",
                                 "accuracy_high", "train_minutes"]].sort_index(level="protocol")"""),
code("""# what the adversaries change while training: seed 42 of the speaker split
adversaries = ("logmel-cnn", "logmel-cnn-adv", "logmel-cnn-adv-strong", "logmel-cnn-adv-ramp")
seed42 = longer[(longer["protocol"] == "speaker") & (longer["seed"] == 42)
                & (longer["device"] == "CPU") & (longer["epochs"] == PROFILES["cnn"].epochs)]
histories = {net: Run(seed42.loc[seed42["model"] == net, "run"].iloc[0]).load_history()
             for net in adversaries}
# chance for the speaker classifier: always answering with the speakers' shares of the
# training clips, whose cross-entropy is the entropy of those shares
shares = (Run(seed42["run"].iloc[0]).load_split().query("part == 'train'")["speaker"]
          .value_counts(normalize=True))
fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
for k, (net, h) in enumerate(histories.items()):
    axes[0].plot(h["epoch"] + 1, 100 * h["val_accuracy"].rolling(5, min_periods=1).mean(),
                 color=f"C{k}", label=net)
    if "speaker_loss" in h:  # logged by the runs made after the first adversary's
        axes[1].plot(h["epoch"] + 1, h["speaker_loss"], color=f"C{k}", label=net)
axes[1].axhline(-(shares * np.log(shares)).sum(), color="black", ls=":",
                label=f"chance ({len(shares)} speakers)")
axes[0].set(xlabel="epoch", ylabel="validation accuracy [%] (mean of 5 epochs)",
            title="Speaker split, seed 42, 120 epochs on this CPU")
axes[1].set(xlabel="epoch", ylabel="speaker cross-entropy [nats]",
            title="The speaker classifier's loss while training")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()"""),
md("""Did the adversary take the speaker out of the features? A *speaker probe* asks it
directly (`benchmarks/bench_speaker_probe.py`): the features each network hands to its
emotion classifier are computed for the clips of one part of its split, and a logistic
regression, fitted on half of each speaker's clips, names the speaker of the other half.
On the training part it must tell apart the speakers the adversary saw; on the validation
part, speakers that no network saw. The per-speaker network is probed on the standardised
spectrograms it was trained on:"""),
code("""probe = pd.DataFrame(json.loads(
    get_stored_path("benchmarks/results/speaker_probe.json").read_text())["rows"])
# chance: always naming the speaker with the most clips in the part
probe_table = probe.groupby(["part", "model"]).agg(
    seeds=("seed", "nunique"), speakers=("n_speakers", "first"),
    chance=("majority", "mean"), probe_accuracy=("probe_accuracy", "mean"))
probe_table[["chance", "probe_accuracy"]] *= 100
print(probe_table.round(1).to_string())
fig, ax = plt.subplots(figsize=(8, 3.6))
order = [m for m in (*adversaries, "logmel-cnn-spk") if m in set(probe["model"])]
for k, part in enumerate(("train", "val")):
    rows = probe[probe["part"] == part]
    ax.scatter(rows["model"].map(order.index) + (k - 0.5) * 0.2,
               100 * rows["probe_accuracy"], color=f"C{k}",
               label=f"{part} part ({rows['n_speakers'].iloc[0]} speakers)")
    ax.scatter(np.arange(len(order)) + (k - 0.5) * 0.2,
               100 * rows.groupby("model")["majority"].mean().loc[order], marker="_", s=300,
               color=f"C{k}")
ax.set(xticks=range(len(order)), xticklabels=order, ylim=(0, 100),
       ylabel="speaker named [%]",
       title="Speaker probe on the pooled features, speaker split (dots: seeds; dashes: chance)")
ax.legend(loc="center right")
ax.grid(alpha=0.3)
plt.show()"""),
md("""Was the speaker classifier too weak or too slow to be an adversary at all? A control
answers that (`benchmarks/bench_adversary_head.py`): the same pair of networks, trained
with the reversal's weight at 1e-9, so that the network ignores the classifier and the
classifier learns what it can on its own. It ran at the classifier's usual learning rate
for 12 and 120 epochs, and for 12 epochs with the classifier learning 3 and 10 times
faster than the network (`ModelSpec.adversary_speedup`: each of its layers computes
`k (W x + b)` from weights initialised `k` times smaller, so that Adam's steps, about the
learning rate in size whatever the gradient, move its output `k` times as far). This is
the obvious way to build a stronger adversary, so it was measured before being tried as
one. Seed 42 of the speaker split, beside the adversaries' losses from the panel above:"""),
code("""head = json.loads(get_stored_path("benchmarks/results/adversary_head.json").read_text())
fig, ax = plt.subplots(figsize=(9, 4))
for k, arm in enumerate(head["arms"]):
    loss = arm["speaker_loss"]
    ax.plot(np.arange(1, len(loss) + 1), loss, color=f"C{k + 4}", lw=2 if arm["epochs"] > 12 else 1,
            label=f"no push back, classifier x{arm['speedup']:g}, {arm['epochs']} epochs")
for k, (net, h) in enumerate(histories.items()):
    if "speaker_loss" in h:
        ax.plot(h["epoch"] + 1, h["speaker_loss"], color=f"C{k}", ls="--", lw=1, label=net)
ax.axhline(head["arms"][0]["chance"], color="black", ls=":", label="chance")
ax.set(xlabel="epoch", ylabel="speaker cross-entropy [nats]",
       title="The speaker classifier with and without a network that pushes back")
ax.grid(alpha=0.3)
ax.legend(fontsize=8, loc="lower left")
plt.show()
for a in head["arms"]:
    print(f"classifier x{a['speedup']:g}, {a['epochs']:3d} epochs, nothing pushing back: "
          f"speaker loss {a['speaker_loss'][-1]:.2f} nats at the last epoch (chance "
          f"{a['chance']:.2f}); the network's emotion validation accuracy "
          f"{100 * a['val_accuracy']:.1f} %")"""),
md("""What these tries say:

* **Width and per-speaker standardisation do not add up.** On unseen speakers the wider
  network on standardised spectrograms validates a fraction of a point above the plain
  network on the same input and tests a fraction below (the table above), at about three
  times its training time. Its paper-split runs (another three quarters of an hour of this
  CPU) were not made after its first seed had validated below, so it is not an ensemble
  candidate.
* **No adversary moved accuracy on unseen speakers.** At weight 0.3 the adversarially
  trained network validates within a point of the plain one and tests a little lower; at
  full weight both come out lower; ramped, its one seed validates level with the plain
  network's run of the same seed and tests lower. All these differences are inside the
  spread between seeds.
* **The adversary never learned to tell the speakers apart.** At full weight and ramped
  alike, its loss (right-hand panel) falls to about the chance level of 25 training
  speakers within a few epochs and stays there, even though the ramp's first epochs
  reverse almost nothing. An adversary at chance pushes the network nowhere in
  particular.
* **The speaker is still in the features.** From the adversarially trained networks'
  features the probe names the speaker of a held-out clip about as often as from the
  plain network's, far above chance, for the training speakers and for new ones alike.
  An adversary at chance beside a probe that succeeds is the pattern Elazar and Goldberg
  found when removing authors' traits from text representations
  {cite}`elazar2018adversarial`: the network learns to defeat *its* adversary, not to
  forget the attribute.
* **Left alone, the classifier learns the speakers, but slowly, and speed does not help.**
  With nothing pushing back, its loss falls well below chance over 120 epochs (the thick
  curve), so the reversal does hold *its* classifier at chance, as designed. Yet after 12
  epochs the unopposed classifier has barely left chance, and making it learn 3 or 10
  times faster leaves it no better, or stuck at chance: the limit is what it is shown
  (features under dropout, of mixed-up, masked batches that change at every step), not its
  step size. A faster classifier was therefore not tried as an adversary. Several
  classifier steps per network step, the other usual way to strengthen it, would need a
  training step of its own for each backend and was not tried either.
* **Standardising per speaker is no speaker eraser either.** It lowers the probe's
  accuracy on the training speakers by several points and less on new ones, and the
  speaker stays easy to name. Its gain on unseen speakers comes from putting every
  speaker's spectra on a common footing, not from hiding who is speaking."""),
md("""**The default recipe and the default model.** `logmel-cnn`'s recipe (the `cnn` profile,
which `logmel-cnn-spk` shares) now runs 120 epochs instead of 40. The budget was chosen
on validation data only: among the budgets of `logmel-cnn` trained on this CPU with three
seeds, the one with the best mean validation accuracy on the speaker split, of those that
stay within 30 minutes even at the slowest pace measured here. Then the package's default
model is chosen as in section 5, each model at its own recipe (the three variants above
share the 120 epochs; a model with fewer than three seeds at its recipe is not a
candidate):"""),
code("""def compute_budgets(model):
    \"\"\"Each CPU budget (epochs) of ``model`` on the speaker split: seeds, mean validation
    and test accuracy, median training minutes.\"\"\"
    on_cpu = longer[(longer["model"] == model) & (longer["protocol"] == "speaker")
                    & (longer["device"] == "CPU")].astype({"epochs": int})
    return on_cpu.groupby("epochs").agg(seeds=("seed", "nunique"),
                                        val_accuracy=("val_accuracy", "mean"),
                                        accuracy=("accuracy", "mean"),
                                        train_minutes=("train_minutes", "median"))


def check_chosen_budget(budgets, cost, profile):
    \"\"\"The budget with the best mean validation accuracy among those with three seeds
    whose ``cost`` column stays within 30 minutes must be what ``profile`` runs.\"\"\"
    fits = budgets[(budgets["seeds"] >= 3) & (budgets[cost] <= 30)]
    chosen = fits["val_accuracy"].idxmax()
    print(f"chosen on validation: {chosen} epochs; "
          f"the {profile} profile runs {PROFILES[profile].epochs}")
    assert PROFILES[profile].epochs == chosen, f"the {profile} recipe is not the chosen one"


budgets = compute_budgets("logmel-cnn").drop(columns="train_minutes")
budgets["cpu_min_slow"] = budgets.index * pace_slow
check_chosen_budget(budgets, "cpu_min_slow", "cnn")
budgets"""),
md("""The TCN's budget is chosen by the same rule between the 40 epochs of section 2 and 120.
All its runs were made in one session, so their own minutes (medians over the seeds)
stand for the cost:"""),
code("""tcn_budgets = compute_budgets("tcn")
check_chosen_budget(tcn_budgets, "train_minutes", "tcn")
tcn_budgets"""),
code("""# each model at its own recipe: its CPU runs at its profile's epochs where it has three
# seeds of them, else its section-2 runs
recipe_epochs = cpu_long["model"].map(lambda m: PROFILES[MODELS[m].profile].epochs)
own = cpu_long[(cpu_long["protocol"] == "speaker") & (cpu_long["epochs"] == recipe_epochs)]
own = own[own.groupby("model")["seed"].transform("nunique") >= 3]
at_recipe = pd.concat([runs[(runs["protocol"] == "speaker") & ~runs["model"].isin(own["model"])],
                       own])
by_model = (at_recipe[~at_recipe["model"].isin(needs_batch | {"ensemble"})].groupby("model")
            .agg(seeds=("seed", "nunique"), epochs=("epochs", "first"),
                 val_accuracy=("val_accuracy", "mean"), accuracy=("accuracy", "mean"))
            .astype({"epochs": int}).sort_values("val_accuracy", ascending=False))
print("default model of the package:", DEFAULT_MODEL)
assert DEFAULT_MODEL == by_model["val_accuracy"].idxmax(), "the default is no longer the best"
by_model"""),
md("""By this rule the default is now `logmel-cnn-warp`, the network trained with vocal tract
length perturbation. Read the change for what it is: its lead over the plain network is
well under a point of validation accuracy and its test accuracy is the same, far inside
the spread between seeds. The rule was fixed before these runs and is applied as written;
what the runs show is that the warped network is *no worse on unseen speakers*, not that
it is better. The wider network and the network trained against a speaker classifier,
whose CPU runs came after that choice, each validate a few tenths of a point below it and
so do not replace it. On the paper's random split, by
contrast, both changes to the input cost several points (the table above): stretching
voices and standardising each clip take away part of the speaker cues that a split with
the same speakers on both sides rewards. A user scoring their own voice is an unseen
speaker, which is why the default is chosen on that split. On unseen speakers the
per-clip standardisation lands a little below both, and so does the deeper network's
single run, which took three to four times as long (part of it beside another job) for
no gain. Averaging over time shifts moves validation accuracy by about a tenth of a point
either way, so the package scores each clip once."""),
md("""The default also faced the third protocol, each corpus held out in turn (a language
and recording set-up it never heard), with three seeds on this CPU. Beside it, the same
network at section 2's 40 epochs, the paper's network, and the section-2 model that
validates best on these protocols:"""),
code("""recipe_label = f"{DEFAULT_MODEL} | {PROFILES[MODELS[DEFAULT_MODEL].profile].epochs} epochs, CPU"
held_out = sorted(p for p in table.index.get_level_values("protocol") if p.startswith("corpus-"))
on_corpora = table[table.index.get_level_values("protocol").isin(held_out)]
best_held_out = (on_corpora.drop("ensemble", level="model", errors="ignore")
                 .groupby(level="model")["val_accuracy"].mean().idxmax())
corpus_table = pd.concat(
    {recipe_label: longer_table.loc[recipe_label],
     **{f"{m} | section 2": table.loc[m]
        for m in dict.fromkeys(["logmel-cnn", "fser", best_held_out])}},
    names=["model", "protocol"])
corpus_table = corpus_table[corpus_table.index.get_level_values("protocol").isin(held_out)]
print("best validated section-2 model on the held-out corpora:", best_held_out)
corpus_table[["seeds", "val_accuracy", "accuracy", "accuracy_low", "accuracy_high",
              "macro_f1", "train_minutes"]]"""),
md("""On a corpus it never heard, the default does a few points better than the same network
trained for 40 epochs, on each of the three, and worse than the per-speaker ComParE SVM
(by a wide margin on EmoDB and EMOVO, narrowly on RAVDESS), whose standardisation also
takes away part of what differs between corpora (section 3). Every model falls a long way from its validation accuracy, which is measured
on clips of the corpora it trained on: the drop that chapter 7 measured for the paper's
network holds for the strongest networks here too."""),
md("""With more epochs the networks can join an ensemble too. The selection rule is the one of
section 2: greedy forward selection on validation accuracy, among every registered model's
40-epoch CPU runs plus the longer runs with three seeds on both splits (the one-seed
control is not a candidate). It is applied four times:

* with the CPU runs alone, which is what this machine trains;
* with the CPU runs alone and a budget: a member is only added while the members' training
  minutes, summed, stay within the issue's 30 minutes (`max_minutes` of
  `compute_ensemble_selection`; a member's minutes are the larger of its two splits'
  medians). This variant was added in the same session in which the first one's results,
  test accuracy included, were seen; the budget itself is the issue's, not a value tuned
  on them;
* with the GPU runs added;
* with the CPU runs of the models that score a single clip, within the same 30-minute
  budget: the ensemble a user could run on one recording. Like the budget, this variant
  was added after the first ensembles' results had been seen.

An ensemble's minutes are the sum of its members' (medians over the seeds). Those of the
third add GPU and CPU minutes, so only the others are CPU budgets, and even their
members' minutes come from different sessions of the machine, at the paces printed above
the budget table:"""),
code("""def select_ensemble(extra_runs, name, max_minutes=None, single_clip=False):
    \"\"\"Forward selection among the section 2 models and ``extra_runs`` (longer runs,
    labelled with their budget), within ``max_minutes`` of summed training if given, and
    among the models that score a single clip if ``single_clip``; records the members in
    ``members_of`` and returns the ensemble's table.\"\"\"
    pool = pd.concat([runs[runs["model"] != "ensemble"],
                      extra_runs.assign(model=extra_runs["label"])],
                     ignore_index=True)
    # a model, or a longer budget, is a candidate once it has three seeds on both splits
    seeds = pool.pivot_table(index="model", columns="protocol", values="seed",
                             aggfunc="nunique", fill_value=0)[["paper", "speaker"]]
    candidates = [m for m in seeds[(seeds >= 3).all(axis=1)].index
                  if not (single_clip and network(m) in needs_batch)]
    chosen = compute_ensemble_selection(pool, candidates, max_minutes=max_minutes)
    members_of[name] = chosen
    print(f"{name}: members, in the order selection added them:", " + ".join(chosen))
    print("    chosen on the validation parts of:", ", ".join(
        f"{p} seed {s}" for p, s in compute_shared_cells(pool, candidates)))
    ensemble_runs[name] = compute_ensemble_runs(pool, chosen, name=name)
    return compute_comparison_table(ensemble_runs[name])


members_of, ensemble_runs = {}, {}  # each ensemble's members and runs, by its name
cpu_ensemble = select_ensemble(cpu_long, "ensemble, CPU runs")
budget_ensemble = select_ensemble(cpu_long, "ensemble, CPU runs, 30 min", max_minutes=30)
gpu_ensemble = select_ensemble(long_runs, "ensemble with GPU runs")
single_ensemble = select_ensemble(
    cpu_long, "ensemble, CPU runs, single clip, 30 min", max_minutes=30, single_clip=True)
pd.concat([cpu_ensemble, budget_ensemble, gpu_ensemble, single_ensemble])[
    ["seeds", "accuracy", "accuracy_low", "accuracy_high", "macro_f1", "val_accuracy",
     "train_minutes"]]"""),
md("""The adversarially trained network is new among the candidates. The same 30-minute
selection without it shows what it changed (its validation accuracy is what the rule
looks at; the test accuracy is only reported):"""),
code("""adversarial = cpu_long["model"].map(lambda m: MODELS[m].speaker_adversary > 0)
no_adversary = select_ensemble(cpu_long[~adversarial], "ensemble, CPU runs, 30 min, no adversary",
                               max_minutes=30)
pd.concat([budget_ensemble, no_adversary])[["seeds", "val_accuracy", "accuracy", "accuracy_low",
                                            "accuracy_high", "train_minutes"]]"""),
code("""beyond = pd.concat([longer_table[longer_table["seeds"] >= 3], cpu_ensemble, budget_ensemble,
                    gpu_ensemble, single_ensemble]).reset_index()
# a per-speaker model, or an ensemble holding one, needs a batch of the speaker's clips
holds_per_speaker = {name: any(network(m) in needs_batch for m in chosen)
                     for name, chosen in members_of.items()}
batch_only = (beyond["model"].map(network).isin(needs_batch)
              | beyond["model"].map(holds_per_speaker).fillna(False).astype(bool))
# trained on this CPU: the CPU budgets, and the ensembles of CPU runs
on_cpu = beyond["model"].str.endswith("CPU") | beyond["model"].str.startswith("ensemble, CPU")
for protocol, target in TARGETS.items():
    rows = beyond[beyond["protocol"] == protocol]
    top = rows.loc[rows["val_accuracy"].idxmax()]
    verdict = compute_target_verdict(top["accuracy_low"], top["accuracy_high"], target)
    print(f"{protocol} split, any budget: best {top['model']} "
          f"{top['accuracy']:.1f} % ({top['accuracy_low']:.1f}-{top['accuracy_high']:.1f}); "
          f"target {target:.0f} %: {verdict}")
    fast = rows[on_cpu[rows.index] & (rows["train_minutes"] <= 30)]
    quick = fast.loc[fast["val_accuracy"].idxmax()]
    print(f"    best within 30 min of this CPU: {quick['model']} {quick['accuracy']:.2f} % "
          f"({quick['accuracy_low']:.1f}-{quick['accuracy_high']:.1f}), "
          f"{quick['train_minutes']:.1f} min; target: "
          f"{compute_target_verdict(quick['accuracy_low'], quick['accuracy_high'], target)}")
    fast_one = fast[~batch_only[fast.index]]
    quick_one = fast_one.loc[fast_one["val_accuracy"].idxmax()]
    print(f"    best within 30 min of this CPU that scores a single clip: {quick_one['model']} "
          f"{quick_one['accuracy']:.1f} % ({quick_one['accuracy_low']:.1f}-"
          f"{quick_one['accuracy_high']:.1f}), {quick_one['train_minutes']:.1f} min")
    single = rows[~batch_only[rows.index]]
    one = single.loc[single["val_accuracy"].idxmax()]
    span = dict.fromkeys(f"{one[c]:.0f}" for c in ("cpu_min_fast", "cpu_min_slow"))
    cost = (f"{one['train_minutes']:.1f} min on this CPU" if on_cpu[one.name] else
            f"about {'-'.join(span)} min on this CPU")
    print(f"    best that scores a single clip: {one['model']} {one['accuracy']:.1f} % "
          f"({one['accuracy_low']:.1f}-{one['accuracy_high']:.1f}), {cost}")"""),
md("""Where does the random split fall short of 90 %? The test clips of the three paper-split
seeds, pooled, for the ensemble trained within 30 minutes of this CPU and for the one with
GPU runs, per corpus; below the plots, the accuracy each corpus alone would need for the
ensemble to reach 90 % with the other two as they are:"""),
code("""fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
for ax, name in zip(axes, ("ensemble, CPU runs, 30 min", "ensemble with GPU runs")):
    paper_runs = ensemble_runs[name].query("protocol == 'paper'")["run"]
    pred = pd.concat([compute_ensemble_predictions(r.split("+")) for r in paper_runs],
                     ignore_index=True)
    per_corpus = ev.compute_group_accuracy(pred, "corpus", n_boot=1000)
    plotting.plot_group_accuracy(per_corpus, "corpus", ax=ax, reference={"target": 90},
                                 title=f"{name}: paper split, {len(paper_runs)} seeds")
    correct = per_corpus.set_index("corpus")["correct"]
    n = per_corpus.set_index("corpus")["n"]
    needed = 100 * (0.9 * n.sum() - (correct.sum() - correct)) / n
    print(f"{name}: {100 * correct.sum() / n.sum():.1f} % overall; for 90 %, on its own, "
          + "; ".join(f"{c} would need {v:.0f} % (has {100 * correct[c] / n[c]:.0f} %)"
                      for c, v in needed.items()))
plt.tight_layout()
plt.show()"""),
md("""No single corpus holds the gap. EMOVO is the weakest, but no score on it would lift the
30-minute ensemble to 90 %, and the GPU ensemble would need it near perfect; EmoDB is too
small to make up the rest.
RAVDESS, with three in five test clips, decides the total: it would have to reach the
middle nineties with the others unchanged, above the 90 % that TIM-Net reports on RAVDESS
alone {cite}`ye2023timnet`, with ten-fold splits that train on nine tenths of the clips
(this split trains on about two thirds of them). Reaching the target on this split
means doing better on every corpus at once, not fixing a weak one."""),
md("""The same picture on unseen speakers for the budget that scores a single clip and
validates best, whatever its device, and for the package's default at its recipe on this
CPU:"""),
code("""# chosen on validation accuracy, among budgets with three seeds
on_speakers = longer_table.xs("speaker", level="protocol")
on_speakers = on_speakers[(on_speakers["seeds"] >= 3)
                          & ~by_label.loc[on_speakers.index, "model"].isin(needs_batch)]
best_long = on_speakers["val_accuracy"].idxmax()
default_label = f"{DEFAULT_MODEL} | {PROFILES[MODELS[DEFAULT_MODEL].profile].epochs} epochs, CPU"
print("best validated budget that scores a single clip:", best_long)
print("the package's default at its recipe:", default_label)
for label in dict.fromkeys([best_long, default_label]):
    show_speaker_split_breakdown(label, list(
        longer.loc[(longer["label"] == label) & (longer["protocol"] == "speaker"), "run"]))"""),
md("""What this says:

* **The 40-epoch networks were short of budget, not of capacity.** The same recipe run
  longer gains a great deal on the paper's random split and a few points on unseen
  speakers. The control run shows that the GPU itself is not what changed the result,
  and the CPU runs at 120 and 300 epochs land close to the GPU runs of the same budgets
  (their intervals overlap).
* **On unseen speakers, the plain network's gain stops by about 120 epochs.** At 300
  epochs `logmel-cnn` does no better on the speaker split than at 120 on the CPU, and
  barely better on the GPU; its validation accuracy gains a point or two. So the recipe
  now stops at 120,
  the budget chosen on validation above, which takes minutes here and stays within
  30 minutes even at the slowest pace measured on this machine.
* **The random split rewards training longer far more than the speaker split does.** With
  the same speakers on both sides, a longer-trained network can learn each actor's voice;
  on new speakers that knowledge does not carry over.
* **Ensembles are where the speaker split crosses 70 %.** Every ensemble above but the
  single-clip one holds a per-speaker member (an SVM or the network on speaker-normalised
  features), so each needs several clips of the speaker at scoring time. Their means on
  unseen speakers lie near or above the 70 % target; the verdict lines say whether the
  whole interval does, which is the book's rule for "met". A new candidate can lower an
  ensemble's accuracy on one split: the rule scores the validation clips of both splits
  together, and the adversarially trained network, once a candidate, took the place of
  another member of the 30-minute ensemble for a gain on the random split, while on unseen
  speakers validation and test accuracy both came out a little lower (the comparison
  above). Those trained within 30 minutes owe
  their budget to the later, faster machine: their 300-epoch network would take close to
  an hour at the slower session's pace.
* **The paper split stays short of 90 %** on every budget, and far from the paper's claimed
  95 %.
* **Of the models that score a single clip**, every log-mel network trained here at 120 or
  300 epochs lands near 60 % on unseen speakers, the wider one at 300 epochs on the GPU a
  few points higher: a few points above the 40-epoch runs, and still well below the 70 %
  target. Neither a deeper network, nor stretched voices (VTLP), nor standardising each
  clip, nor averaging over time shifts, nor deltas, attentive pooling, a full-resolution
  first block or a speaker adversary moved that by more than the spread between seeds.
  The wider network gains a point or two of validation accuracy on both splits at the
  same budget on the GPU, and at 300 epochs there it is the single-clip
  budget that validates best on unseen speakers. At its 120-epoch recipe on this CPU,
  where it takes three times as long as the plain network, it keeps its lead on the
  random split, but on unseen speakers the lead shrinks to a fraction of a point, and it
  validates just below the default. Averaging several of them (the single-clip ensemble,
  chosen on validation within 30 minutes) gains a few points on unseen speakers, still
  short of 70 %.
* On a GPU (Colab, say), `fser train --model logmel-cnn` now trains the 120-epoch recipe
  in a couple of minutes, and `--epochs 300` the longest budget above."""),
md("""## 8. A confirmation no one has looked at

Within {glue:text}`confirm_budget` of this CPU, the best results of section 7 come from its
30-minute ensemble ({glue:text}`explore_members`): {glue:text}`explore_paper` (95 % interval
{glue:text}`explore_paper_ci`) on the paper's random split and
{glue:text}`explore_speaker` ({glue:text}`explore_speaker_ci`) on unseen speakers. They are
exploratory numbers. The ensemble's members were chosen on validation accuracy, but the
rule that chose them (which runs could be candidates, the budget) was added in a session in
which test accuracies had already been seen. A rule picked that way can flatter the test
score much as a setting tuned on the test set does, only less visibly.

The way out is to fix the rule and its members now, in code, before a single run of fresh
seeds exists, then train those seeds and report what they give, whatever it is. The rule,
in `fser_utils.confirm`:

1. **Candidates**: every registered model at every training budget stored from this CPU
   (`results/beyond/`, `results/beyond_longer/`) that has a finished run on both the paper
   and the speaker split for each exploration seed ({glue:text}`confirm_exploration_seeds`),
   trained on the paper's three corpora.
2. **Selection**: greedy forward selection on validation accuracy, averaged over every
   split and exploration seed, adding a member only while the members' training minutes,
   summed, stay within {glue:text}`confirm_budget`.
3. **The ensemble**: the members' class probabilities averaged, the most probable class
   predicted. Nothing is tuned.

`freeze_ensemble` opens validation predictions only, and `tests/test_confirm.py` fails if
it reads test predictions, or if the stored runs stop giving the members written into the
code (`FROZEN_MEMBERS`). The cell below applies the rule once more and checks the same."""),
code(r"""from myst_nb import glue

from fser_utils import confirm, findings

frozen = confirm.freeze_ensemble()  # reads validation predictions only
# the members written into the code before any confirmation run existed: if the stored runs
# gave others, the confirmation would test an ensemble that nobody froze
assert tuple(frozen["members"]) == confirm.FROZEN_MEMBERS, frozen["members"]
print(f"{len(frozen['candidates'])} candidates; frozen members, in the order chosen:",
      " + ".join(frozen["members"]))
print(f"summed training minutes: {frozen['train_minutes']:.1f} "
      f"(budget {confirm.MAX_MINUTES:.0f})")
frozen_val = pd.Series(frozen["val_accuracy"], name="validation accuracy [%]")
frozen_val.rename_axis("split").to_frame()"""),
code(r"""# section 7's 30-minute ensemble, as the findings page computes it: the exploratory numbers
explored = {s: findings.compute_best_ensemble(s, max_cpu_minutes=findings.BUDGET_MINUTES)
            for s in confirm.CONFIRMATION_SPLITS}
texts = {"confirm_budget": f"{confirm.MAX_MINUTES:.0f} minutes",
         "confirm_exploration_seeds": ", ".join(map(str, confirm.EXPLORATION_SEEDS)),
         "confirm_seeds": ", ".join(map(str, confirm.CONFIRMATION_SEEDS)),
         "confirm_members": " + ".join(frozen["members"]),
         "explore_members": " + ".join(explored["paper"]["members"]),
         "confirm_minutes": f"{frozen['train_minutes']:.1f} minutes",
         "confirm_runs": str(len(frozen["commands"]))}
for split in confirm.CONFIRMATION_SPLITS:
    texts[f"confirm_val_{split}"] = findings.format_value(frozen["val_accuracy"][split])
    result = findings.format_result(explored[split])
    texts.update({f"explore_{split}{suffix}": text for suffix, text in result.items()})
for key, text in texts.items():
    glue(key, text, display=False)""", metadata={"tags": ["hide-input"]}),
md("""**What will be reported.** The frozen ensemble ({glue:text}`confirm_members`;
{glue:text}`confirm_minutes` of training, summed; validation accuracy
{glue:text}`confirm_val_paper` on the paper split and {glue:text}`confirm_val_speaker` on
the speaker split, averaged over the exploration seeds) is trained again from scratch with
seeds {glue:text}`confirm_seeds`, which chose nothing, on the paper split and on the speaker
split. For each split this section will then show the ensemble's test accuracy, the mean
over those seeds with its 95 % interval (over test clips and seeds, as in section 2), beside
the exploratory {glue:text}`explore_paper` and {glue:text}`explore_speaker`. No member is
replaced, no seed dropped and nothing chosen again once test scores are seen; a member
whose run is missing is listed as missing, not stood in for by another.

The {glue:text}`confirm_runs` runs, one `fser train` command each (members, then splits,
then seeds); their run folders are to be stored in `results/confirmation/`:"""),
code(r"""print("\n".join(frozen["commands"]))"""),
code(r"""# the exploration's folders are read too: there only runs of the confirmation seeds count
status = confirm.compute_confirmation([get_results_dir(), get_results_dir(longer=True),
                                       get_results_dir().parent / "confirmation"])
glue("confirm_missing", str(len(status["missing"])), display=False)
print(f"runs still missing: {len(status['missing'])} of {len(frozen['commands'])}")
if len(status["table"]):
    display(status["table"])
missing = pd.DataFrame(status["missing"], columns=["member", "split", "seed"])
missing.groupby(["member", "split"], sort=False)["seed"].agg(list).to_frame("seeds missing")"""),
md("""When this chapter was last executed, {glue:text}`confirm_missing` of the
{glue:text}`confirm_runs` runs were still missing. Until all of them are in, the 30-minute
numbers of section 7 remain exploratory."""),
md("""## Summary
* The models of the comparison were each trained on the same splits and the same three
  seeds: the paper's random split, unseen speakers and each corpus held out (section 2
  checks that no cell lacks a seed). The table and the figure are computed from the
  stored runs, and each run is one `fser train` command. The variants of section 7 were
  measured on the paper and speaker splits, the default model on all of them.
* The section *Against the targets* states plainly whether the 90 % (paper split) and
  70 % (speaker split) targets were reached.
* Published anchors are drawn, each labelled with its protocol; none of them is directly
  comparable with our splits.
* Standardising each speaker's features is the largest single gain measured here on
  unseen speakers, but it needs several clips of the speaker at scoring time.
* Trained longer (section 7), on a lent GPU and, with a faster training loop, on this CPU,
  the same networks gain a great deal on the paper split and a few points on unseen
  speakers. Ensembles chosen on validation data that hold a per-speaker member reach a
  mean near 70 % on unseen speakers, and above it with GPU runs or beyond 30 minutes of
  this CPU; the one made of single-clip models stays well below, and the paper split
  stays short of 90 %.
* On the paper split the shortfall is spread over all three corpora: no single corpus,
  however well recognised, would lift the ensembles to 90 %, and RAVDESS, with most of
  the test clips, would have to reach the middle nineties on its own.
* On a corpus never heard in training, every model, the default included, falls far below
  its validation accuracy; the per-speaker SVM holds up best.
* The same run on the same kind of virtual machine took several times longer in one
  session than in a later one, and its numbers took another path: wall-clock budgets and
  last digits depend on the hardware beneath the machine, which runs now record.
* The log-mel networks' recipe and the TCN's now run 120 epochs, each chosen on
  validation data among the budgets that fit 30 minutes of this CPU. The TCN first
  underfitted; batch-normalising its MFCCs and dropping three regularisers from its
  recipe fixed that, yet on unseen speakers it stays far behind the log-mel networks.
* A deeper network, vocal tract length perturbation, per-clip standardisation and
  averaging over time shifts were each measured against the plain network on unseen
  speakers; none moved validation accuracy by more than the spread between seeds, and the
  two input changes cost several points on the random split. Four more variants, tried on
  a lent GPU, tell the same story: deltas, attentive pooling and a full-resolution first
  block gain nothing on both splits at once; twice the channels gains a point or two. By
  the validation rule on unseen speakers the default is now the network trained with
  VTLP, no worse there than the plain one.
* Training against a speaker classifier through a gradient reversal left accuracy on
  unseen speakers where it was, at three settings. Its speaker classifier stayed at
  chance, and a probe still names the speaker from the features as easily as from the
  plain network's: as set up here, the adversary removed nothing. Left alone, the same
  classifier learns the speakers only slowly, and giving it a larger step does not speed
  it up, so a faster adversary was not worth a run.
* Section 8 freezes, on validation data alone, the rule and the members of the 30-minute
  ensemble, and lists the runs on fresh seeds that will confirm or contradict its
  exploratory numbers.
* Of the models that score one clip, the one that generalises best to unseen speakers is
  the package's default for `fser train` and `fser predict`; the paper's CNN remains
  available as `--model fser`, and every other model by its name."""),
]
write_chapter(cells, "09_beyond")
