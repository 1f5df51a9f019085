"""Can grounded+evidence's ICD-10-CM loss on new wording be shrunk? Probes on VALIDATION notes, as the extract writes
them and as the held-out phrasing bank writes them (the same encounters and gold codes). The test split is never read.

Each probe swaps one part of ``claimbench.grounding.evidence`` for the run, rebuilds the anchors from the training
split, chooses the settings on all the validation notes as rule select_grounding_reference does (``select_settings``),
and scores ICD-10-CM on the normal and the held-out bank's notes, with the drop's paired bootstrap interval
(``claimbench.evaluation.style_shift``):

- ``as-built``: the method as the pipeline runs it;
- ``wordnet`` / ``wordnet+gloss``: each code's description anchors also get the WordNet synonyms (and glosses) of the
  disorders its description and its parent category's name (WordNet 3.0, ``resources/nltk_data``: noun.state
  synsets under physical_condition, not generic heads like "disease");
- ``headings`` / ``headings+pairs``: the clause splitter also strips headings ended by "=", "-" or "--" and "(1)"
  numbering (dictated notes separate headings every way), and with ``+pairs`` adds each two adjacent list items
  as one clause ("walking, wobbly");
- ``single-finding`` / ``single-finding-uncoded``: a training clause that holds a shorter coded clause of its line (a
  sentence listing several findings) is no anchor, or an uncoded one, instead of an anchor carrying every code;
- ``no-heading-clauses``: a clause that is only a heading casts no vote ("PMH:" before a numbered list, "Dx post."
  opening its line);
- ``nearest-silent``: a clause whose single nearest anchor is an uncoded clause votes for nothing;
- ``parts-vote``: a note's sentence that lists several things votes only through its parts, so a list of findings
  does not meet a training list of other findings (the training anchors as built);
- ``wider-k``: 20 and 40 neighbours added to the choice (10, the grid's largest, is what it chooses);
- ``subcategory-siblings`` / ``category-siblings``: description anchors also for every code that shares a training
  claim code's subcategory ("H40.1") or category ("H40"), so a finding no training claim codes meets its own code.

Beside the F1s it counts the ICD-10-CM errors: false codes, missed codes, and of the missed ones those no clause voted
for and those no training claim holds (``error_counts``).

    PYTHONPATH=src .venv/bin/python experiments/icd_shift_probes_validation.py --results results [--probes ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from style_shift_validation import split_extract
from validation_run import ROOT

from claimbench.grounding import evidence

AS_BUILT = {"note_clauses": evidence.note_clauses, "build_anchors": evidence.build_anchors,
            "description_anchors": evidence.description_anchors, "clause_votes": evidence.clause_votes,
            "KS": evidence.KS, "case_scores": evidence.case_scores}
_ANY_HEADING = re.compile(r"^\s*[A-Za-z][A-Za-z0-9 ()/&'.#]{0,40}?\s*(?::|=|--?|\u2013)\s+")
_NUMBER = re.compile(r"^\(?\d+[.)]\s*")
_ITEMS = re.compile(r"\s*[,;]\s+|\s+(?:and|&)\s+|(?:^|\s)\(?\d+[.)]\s+")
_NEGATED = re.compile(r"\b(?:without|not|no|other than|except)\b.*$", re.IGNORECASE)
GENERIC = {"disease", "disorder", "condition", "syndrome", "state", "status", "history", "type", "pain",
           "complication", "abnormality", "deformity", "infection", "injury", "illness", "symptom", "problem"}


def heading_clauses(note: str, pairs: bool = False) -> list[tuple[int, str]]:
    out = []
    for i, line in enumerate(str(note).split("\n")):
        for sentence in evidence._SENTENCE_END.split(evidence._HEADER.sub("", line, count=1)):
            sentence = sentence.strip(" .\t")
            if len(sentence) < 2:
                continue
            out.append((i, sentence))
            body = _NUMBER.sub("", _ANY_HEADING.sub("", sentence, count=1)).strip(" .\t")
            if body != sentence and len(body) >= 2:
                out.append((i, body))
            items = [p for p in (_NUMBER.sub("", p).strip(" .\t") for p in _ITEMS.split(body)) if len(p) >= 2]
            if len(items) > 1:
                out += [(i, p) for p in items]
                out += [(i, f"{a}, {b}") for a, b in zip(items, items[1:])] if pairs else []
    return list(dict.fromkeys(out))


_MARKER_END = re.compile(r"(?::|=|--?|\u2013)$")


def without_heading_clauses(note: str) -> list[tuple[int, str]]:
    """note_clauses less the clauses that are only a heading: one ended by a heading marker ("PMH:" before a
    numbered list), or a sentence of at most three words that opens its line with more text after it ("Dx post.
    Same as preoperative")."""
    lines = str(note).split("\n")
    out = []
    for i, text in AS_BUILT["note_clauses"](note):
        body = evidence._HEADER.sub("", lines[i], count=1).strip()
        opens_line = body.startswith(text) and len(body) > len(text) + 2
        if _MARKER_END.search(text) or (opens_line and len(text.split()) <= 3 and body[len(text)] == "."):
            continue
        out.append((i, text))
    return out


def parts_only_clauses(note: str) -> list[tuple[int, str]]:
    """note_clauses less each sentence that is split into parts: only its parts vote."""
    clauses = AS_BUILT["note_clauses"](note)
    return [(i, text) for i, text in clauses
            if not any(j == i and other != text and other in text for j, other in clauses)]


def parts_vote_scores(cases, anchors, embedder, ks=evidence.KS, batch_size=64):
    """case_scores with the notes' sentences that list several things voting only through their parts (the training
    anchors unchanged)."""
    evidence.note_clauses = parts_only_clauses
    try:
        return AS_BUILT["case_scores"](cases, anchors, embedder, ks, batch_size)
    finally:
        evidence.note_clauses = AS_BUILT["note_clauses"]


def nearest_silent_votes(query_vectors, anchors, k):
    """clause_votes, but a clause whose single nearest anchor is an uncoded clause votes for nothing."""
    votes = AS_BUILT["clause_votes"](query_vectors, anchors, k)
    if not len(query_vectors):
        return votes
    nearest = np.argmax(query_vectors @ anchors.vectors.T, axis=1)
    return [v if anchors.codes[n] else {} for v, n in zip(votes, nearest)]


def single_finding_anchors(uncoded: bool):
    """build_anchors whose ICD-10-CM anchors leave out (or uncode) clauses holding a shorter coded clause."""
    def build(train, embedder, descriptions, batch_size=64):
        built = AS_BUILT["build_anchors"](train, embedder, descriptions, batch_size)
        icd = built["icd10cm"]
        n_clauses = len(icd.codes) - len(descriptions.get("icd10cm") or ())
        keep, codes = [], list(icd.codes)
        start = 0
        for record in train.to_dict("records"):  # the same clauses, in the same order, as build_anchors made
            clauses = evidence.note_clauses(record["op_note"])
            labels = icd.codes[start:start + len(clauses)]
            for a, ((line, text), label) in enumerate(zip(clauses, labels)):
                composite = label and any(b != a and other_line == line and other_label and len(other) < len(text)
                                          and other in text
                                          for b, ((other_line, other), other_label) in enumerate(zip(clauses, labels)))
                if composite and uncoded:
                    codes[start + a] = ()
                keep.append(not composite or uncoded)
            start += len(clauses)
        keep += [True] * (len(icd.codes) - n_clauses)
        mask = np.asarray(keep)
        built["icd10cm"] = evidence.Anchors(icd.vectors[mask], [c for c, k in zip(codes, mask) if k],
                                            [t for t, k in zip(icd.texts, mask) if k])
        return built
    return build


def wordnet_anchors(gloss: bool, nltk_data: Path):
    """description_anchors plus, per ICD-10-CM code, the WordNet synonyms (and glosses) of the disorders named."""
    import simple_icd_10_cm as cm

    from claimbench.evaluation.structure import load_wordnet

    wordnet = load_wordnet(nltk_data)

    def disorder(phrase: str):
        for synset in wordnet.synsets(phrase, "n")[:1]:
            above = {a.name() for path in synset.hypernym_paths() for a in path}
            if (synset.lexname() == "noun.state" and above & {"physical_condition.n.01", "symptom.n.01"}
                    and synset.min_depth() >= 6 and not {lemma.name() for lemma in synset.lemmas()} & GENERIC):
                return synset
        return None

    def named(text: str):
        words, i = re.findall(r"[a-z]+(?:-[a-z]+)?", _NEGATED.sub("", text.lower())), 0
        while i < len(words):
            for n in (4, 3, 2, 1):
                if i + n <= len(words) and (synset := disorder("_".join(words[i:i + n]))) is not None:
                    yield synset
                    i += n
                    break
            else:
                i += 1

    def anchors(icd10_codes, codesets, related_terms=False):
        icd10_codes = list(dict.fromkeys(icd10_codes))  # a generator, read twice here
        out = AS_BUILT["description_anchors"](icd10_codes, codesets, related_terms)
        extra = []
        for code in icd10_codes:
            texts = [codesets["icd10cm"].description(code) or ""]
            if cm.is_valid_item(code):
                parent = next((a for a in cm.get_ancestors(code) if cm.is_category_or_subcategory(a)), None)
                texts += [cm.get_description(parent)] if parent else []
            for synset in {s.name(): s for t in texts for s in named(t)}.values():
                extra += [(code, lemma.name().replace("_", " ")) for lemma in synset.lemmas()]
                extra += [(code, synset.definition())] if gloss else []
        out["icd10cm"] = list(dict.fromkeys(out["icd10cm"] + extra))
        return out
    return anchors


def sibling_anchors(level: int):
    """description_anchors over the training claims' codes and every other code of their categories (the first
    ``level`` characters): a finding whose code no training claim holds still meets its own description."""
    def anchors(icd10_codes, codesets, related_terms=False):
        seen = list(dict.fromkeys(icd10_codes))
        prefixes = {code[:level] for code in seen}
        siblings = [code for code in dict.fromkeys(codesets["icd10cm"].codes) if code[:level] in prefixes]
        return AS_BUILT["description_anchors"](seen + siblings, codesets, related_terms)
    return anchors


def error_counts(cases, claims, icd_scores, train_codes: set) -> dict:
    """ICD-10-CM false and missed codes over ``cases``, and of the missed ones those no clause voted for and those
    no training claim holds (no anchor carries them, so no setting can claim them)."""
    counts = {"false": 0, "missed": 0, "missed_no_vote": 0, "missed_unseen": 0}
    for gold, claim, scores in zip(cases["icd10"], claims, icd_scores):
        gold, claimed = {str(c) for c in gold}, set(claim.icd10)
        missed = gold - claimed
        counts["false"] += len(claimed - gold)
        counts["missed"] += len(missed)
        counts["missed_no_vote"] += sum(not scores.get(c) for c in missed)
        counts["missed_unseen"] += len(missed - train_codes)
    return counts


def probes(nltk_data: Path) -> dict:
    return {
        "as-built": {},
        "wordnet": {"description_anchors": wordnet_anchors(False, nltk_data)},
        "wordnet+gloss": {"description_anchors": wordnet_anchors(True, nltk_data)},
        "headings": {"note_clauses": heading_clauses},
        "headings+pairs": {"note_clauses": lambda note: heading_clauses(note, pairs=True)},
        "single-finding": {"build_anchors": single_finding_anchors(uncoded=False)},
        "single-finding-uncoded": {"build_anchors": single_finding_anchors(uncoded=True)},
        "no-heading-clauses": {"note_clauses": without_heading_clauses},
        "category-siblings": {"description_anchors": sibling_anchors(3)},
        "subcategory-siblings": {"description_anchors": sibling_anchors(5)},
        "parts-vote": {"case_scores": parts_vote_scores},
        "wider-k": {"KS": (*evidence.KS, 20, 40)},
        "nearest-silent": {"clause_votes": nearest_silent_votes},
        "no-heading-clauses+nearest-silent": {"note_clauses": without_heading_clauses,
                                              "clause_votes": nearest_silent_votes},
    }


def main(argv=None) -> int:
    import pandas as pd
    import torch
    import yaml

    from claimbench.claim import render_claim
    from claimbench.evaluation.cases import score_cases
    from claimbench.evaluation.style_shift import style_shift_table
    from claimbench.evaluation.validity import ReferenceSets
    from claimbench.plan.grounding import grounding_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(ROOT / "results"))
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--nltk-data", default=str(ROOT / "resources" / "nltk_data"))
    parser.add_argument("--probes", nargs="+", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = yaml.safe_load(Path(args.config).read_text())
    bootstrap = config["evaluation"]["bootstrap"]
    train, validation, shifted = split_extract(config, config["data"].get("synthetic", {}).get("phrasing", "training"))
    available = probes(Path(args.nltk_data))
    figures = {}
    for name in args.probes or list(available):
        started = time.perf_counter()
        for attribute, function in {**AS_BUILT, **available[name]}.items():
            setattr(evidence, attribute, function)
        coder = evidence.EvidenceCoder(Path(args.results) / "grounding/codeset_index.npz", grounding_settings(config),
                                       config.get("codesets"), train=train)
        record = evidence.select_settings(coder, validation)
        chosen = evidence.chosen_settings(record)
        scored, errors = {}, {}
        train_codes = {str(c) for codes in train["icd10"] for c in codes}
        for notes, cases in (("normal", validation), ("shifted", shifted)):
            scores = coder.scores(cases, sorted({s.k for s in chosen.values()}))
            claims = coder.claims(cases, scores, chosen)
            answers = pd.DataFrame({"encounter_id": cases["encounter_id"].astype(str).tolist(),
                                    "generated_text": [render_claim(c) for c in claims]})
            scored[notes] = {name: score_cases(cases, answers, ReferenceSets(None, None, None), scorer=None)}
            errors[notes] = error_counts(cases, claims, scores[chosen["icd10cm"].k]["icd10cm"], train_codes)
        table = style_shift_table(scored["normal"], scored["shifted"], [name], int(bootstrap["n_resamples"]),
                                  int(bootstrap.get("seed", config["seed"])))
        icd = table[table.component == "icd10"].set_index("notes")
        figures[name] = {"chosen": record["chosen"]["icd10cm"],
                         **{notes: round(float(icd.loc[notes, "f1"]), 3) for notes in ("normal", "shifted", "drop")},
                         "drop_interval": [round(float(icd.loc["drop", c]), 3) for c in ("f1_lower", "f1_upper")],
                         "errors": errors}
        print(name, json.dumps(figures[name]), f"({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"\n{len(validation)} validation notes | probe | ICD-10-CM F1 normal / held-out bank | drop (95% interval)")
    for name, f in figures.items():
        print(f"{name} | {f['normal']:.2f} / {f['shifted']:.2f} | {f['drop']:+.2f} "
              f"({f['drop_interval'][0]:+.2f}, {f['drop_interval'][1]:+.2f})")
    print("\nICD-10-CM codes | false, normal / held-out bank | missed | missed with no vote | "
          "missed, no training claim holds the code")
    for name, f in figures.items():
        e = f["errors"]
        print(f"{name} | " + " | ".join(f"{e['normal'][c]} / {e['shifted'][c]}"
                                        for c in ("false", "missed", "missed_no_vote", "missed_unseen")))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
