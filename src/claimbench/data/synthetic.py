"""A synthetic surgical extract drawn from coding policy: the default data source, a stand-in for a hospital's.

Each encounter is built the way a coder would see it: a service performs a procedure (CPT, valid in the surgery
year), justified by a diagnosis (ICD-10-CM, valid in the fiscal year of the surgery date), sometimes with a second
procedure, an assistant at surgery, a return to the OR inside a global period, comorbidities that coders bill only
some of the time, and findings of paper 002's domains (Advanced Illness, Frailty, SDoH) written from explicit (the
diagnosis header) to implicit (social history, nursing lines). Modifiers follow from those choices (RT/LT/50,
51/59/XS, 80/82/AS, 78/79/58, 22). The note is written like dictation (claimbench.data.dictation), mentions history
that is not billed, and sometimes leaves things out.

Labels are evidence-linked (paper 002): every ICD-10-CM code keeps the note line and the span that support it
(``icd10_evidence``), found in the finished note; a label with no code valid in the fiscal year, or whose mention
the note left out, is discarded and counted by reason. Every CPT line carries a short rationale. Every choice is kept
in a ``choices`` record beside the encounter, so an auditor sees why each code is there (and why one is not). The
policy (services, procedures, diagnoses, domain findings, phrasing) lives in ``coding_policy.yaml``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml

from claimbench import codesets
from claimbench.data.dictation import NoteFacts, NoteWriter, find_evidence
from claimbench.data.phrasing import load_bank

POLICY_FILE = Path(__file__).with_name("coding_policy.yaml")
SIDES = ("R", "L", "B")
MODIFIER_ORDER = ["22", "52", "50", "51", "58", "78", "79", "80", "82", "AS", "59", "XS", "RT", "LT"]
MODIFIER_REASONS = {"22": "substantially increased work documented", "52": "reduced service", "50": "bilateral",
                    "51": "additional procedure at the same session", "58": "staged procedure in the global period",
                    "78": "return to the OR for a complication", "79": "unrelated procedure in the global period",
                    "80": "assistant surgeon", "82": "assistant surgeon, no qualified resident",
                    "AS": "non-physician assistant at surgery", "59": "distinct procedural service",
                    "XS": "separate structure", "RT": "right side", "LT": "left side"}
# why a label a coder intended is not in the gold list (paper 002: "discard rates due to unresolved matches")
DISCARD_REASONS = ("no_valid_code_in_fiscal_year", "no_evidence_in_note", "duplicate_code")

FIRST_NAMES = ["Avery", "Jordan", "Morgan", "Casey", "Riley", "Quinn", "Harper", "Rowan", "Emerson", "Sasha", "Devon",
               "Parker", "Reese", "Skyler", "Hayden", "Jamie", "Kendall", "Logan", "Marley", "Noel", "Peyton", "Sage"]
LAST_NAMES = ["Abernathy", "Okafor", "Lindqvist", "Moreau", "Takahashi", "Castellano", "Brennan", "Novak", "Adeyemi",
              "Halvorsen", "Iyer", "Kowalczyk", "Delacroix", "Whitfield", "Santori", "Mbeki", "Fairbanks", "Rahimi",
              "Oyelaran", "Vasquez", "Hargrove", "Lindgren", "Petrakis", "Ostrowski", "Nakamura", "Achterberg"]


@dataclass(frozen=True)
class SyntheticSettings:
    """What config ``data.synthetic`` controls (see config.yaml for meanings and defaults)."""

    n_encounters: int = 1000
    years: tuple[int, int] = (2019, 2024)
    year_shares: str | dict = "paper"
    service_shares: str | dict = "paper"
    age: dict = field(default_factory=lambda: {"mean": 54.7, "sd": 21.9, "min": 0, "max": 100})
    female_share: float = 0.566
    assistant_rate: float = 0.25
    return_rate: float = 0.04
    omission_rate: float = 0.08
    phrasing: str = "training"  # the bank that writes the extract (claimbench.data.phrasing)
    shifted_phrasing: str = "held_out"  # the bank that writes each encounter's style-shifted note
    seed: int = 0

    @classmethod
    def from_config(cls, synthetic: dict, seed: int) -> "SyntheticSettings":
        values = dict(synthetic)
        if "years" in values:
            values["years"] = tuple(values["years"])
        return cls(**values, seed=seed)


class Policy:
    """The coding policy file, with the lookups the generator needs precomputed."""

    def __init__(self, path: Path = POLICY_FILE, cpt_catalog_path=None):
        with open(path) as handle:
            self.raw = yaml.safe_load(handle)
        self.procedures = self.raw["procedures"]
        self.services = self.raw["services"]
        # plain dicts: the generator looks rows up several times per encounter, and pandas .loc is slow for that
        self.catalog = codesets.cpt_catalog(cpt_catalog_path).set_index("cpt").to_dict("index")

    def service_weights(self, shares) -> tuple[list[str], np.ndarray]:
        names = list(self.services)
        if shares == "paper":
            weights = [self.raw["paper_service_counts"].get(name, 0) for name in names]
        elif shares == "uniform":
            weights = [1.0] * len(names)
        else:
            unknown = set(shares) - set(names)
            if unknown:
                raise ValueError(f"config data.synthetic.service_shares names unknown services {sorted(unknown)}")
            weights = [float(shares.get(name, 0)) for name in names]
        w = np.asarray(weights, dtype=float)
        return names, w / w.sum()

    def year_weights(self, years: tuple[int, int], shares) -> tuple[list[int], np.ndarray]:
        span = list(range(years[0], years[1] + 1))
        if shares == "paper":
            paper = self.raw["paper_year_counts"]
            w = np.asarray([paper[i % len(paper)] for i in range(len(span))], dtype=float)
        elif shares == "uniform":
            w = np.ones(len(span))
        else:
            w = np.asarray([float(shares.get(y, shares.get(str(y), 0))) for y in span])
        return span, w / w.sum()

    def catalog_row(self, cpt: str) -> dict:
        return self.catalog[cpt]

    def cpt_valid(self, cpt: str, year: int) -> bool:
        row = self.catalog[cpt]
        return not (row["first_year"] > year) and not (row["last_year"] < year)

    @cached_property
    def comorbidities(self) -> list[dict]:
        return self.raw["comorbidities"]


def resolve_diagnosis(entry: dict, side: str, valid: frozenset[str]) -> str | None:
    """The ICD-10-CM code a diagnosis entry gives for a side, or None if no alternative is valid this fiscal year."""
    digits = entry.get("lat_digits", "123")
    lat = digits[SIDES.index(side)] if side in SIDES and len(digits) > SIDES.index(side) else ""
    for template in entry.get("codes") or [entry["code"]]:
        code = template.replace("{lat}", lat)
        if code in valid:
            return code
    return None


class Generator:
    """Draws encounters one at a time from a seeded ``numpy.random.Generator``."""

    def __init__(self, settings: SyntheticSettings, policy: Policy | None = None, icd10cm_files: dict | None = None):
        self.s = settings
        self.policy = policy or Policy()
        self.icd10cm_files = dict(icd10cm_files or {})  # config codesets.icd10cm_files: years beyond the shipped sets
        # numpy for the vectorised draws over all encounters; Python's Random (much cheaper per call) for the many
        # small per-encounter choices. Both seeded, so the same settings give the same extract.
        self.rng = np.random.default_rng(settings.seed)
        self.r = random.Random(settings.seed)
        self._options: dict = {}
        self.bank = load_bank(settings.phrasing)
        self.writer = NoteWriter(self.policy.raw["dictation"], self.policy.procedures, self.r, self.bank)
        # The style-shifted note of each encounter is written by a second writer with its own Random, reseeded per
        # encounter: the extract is the same whether or not shifted notes are written.
        self.shift_r = random.Random()
        self.shift_bank = load_bank(settings.shifted_phrasing)
        self.shift_writer = NoteWriter(self.policy.raw["dictation"], self.policy.procedures, self.shift_r,
                                       self.shift_bank)
        self.shifted: list[dict] = []  # {encounter_id, op_note, icd10_evidence} per encounter, filled by generate
        self.surgeons = {
            service: [f"{self._pick(LAST_NAMES)}, {self._pick(FIRST_NAMES)} MD" for _ in range(4)]
            for service in self.policy.services
        }
        self.assistants = {
            "80": [f"{self._pick(LAST_NAMES)}, {self._pick(FIRST_NAMES)} MD" for _ in range(6)],
            "82": [f"{self._pick(LAST_NAMES)}, {self._pick(FIRST_NAMES)} MD" for _ in range(4)],
            "AS": [f"{self._pick(LAST_NAMES)}, {self._pick(FIRST_NAMES)} PA-C" for _ in range(6)],
        }

    # -- small random helpers -------------------------------------------------------------------------------------
    def _pick(self, options):
        return self.r.choice(options)

    def _chance(self, p: float) -> bool:
        return self.r.random() < p

    def _weighted(self, items: dict):
        return self.r.choices(list(items), weights=list(items.values()))[0]

    def _primary_options(self, service: str, year: int) -> tuple[list[str], list[float]]:
        key = (service, year)
        if key not in self._options:
            valid = {c: w for c, w in self.policy.services[service]["procedures"].items() if self.policy.cpt_valid(c, year)}
            self._options[key] = (list(valid), list(itertools.accumulate(valid.values())))
        return self._options[key]

    # -- the encounter ---------------------------------------------------------------------------------------------
    def generate(self) -> tuple[list[dict], list[dict]]:
        """(records following the data contract, choices records) for ``n_encounters`` encounters."""
        n = self.s.n_encounters
        services, service_p = self.policy.service_weights(self.s.service_shares)
        years, year_p = self.policy.year_weights(tuple(self.s.years), self.s.year_shares)
        service_idx = self.rng.choice(len(services), size=n, p=service_p)
        year_idx = self.rng.choice(len(years), size=n, p=year_p)
        day_of_year = self.rng.random(n)
        ages = self.rng.normal(self.s.age["mean"], self.s.age["sd"], size=n)
        female = self.rng.random(n) < self.s.female_share
        valid_by_fy: dict[int, frozenset[str]] = {}
        records, choices = [], []
        self.shifted = []
        for i in range(n):
            service = services[service_idx[i]]
            year = years[year_idx[i]]
            start = dt.date(year, 1, 1)
            date = start + dt.timedelta(days=int(day_of_year[i] * (dt.date(year, 12, 31) - start).days))
            fy = codesets.fiscal_year(date)
            if fy not in valid_by_fy:
                valid_by_fy[fy] = codesets.icd10cm_codes(fy, self.icd10cm_files)
            age, sex = self._demographics(service, ages[i], female[i])
            record, choice = self._encounter(f"SYN{i + 1:07d}", service, date, fy, age, sex, valid_by_fy[fy])
            records.append(record)
            choices.append(choice)
        return records, choices

    def _demographics(self, service: str, drawn_age: float, female: bool) -> tuple[int, str]:
        lo, hi = self.s.age["min"], self.s.age["max"]
        if service in self.policy.raw["pediatric_services"]:
            lo, hi = max(lo, 1), min(hi, 17)
            drawn_age = self.rng.uniform(lo, hi)
        age = int(np.clip(round(drawn_age), lo, hi))
        sex = "F" if (female or service in self.policy.raw["female_only_services"]) else "M"
        return age, sex

    def _primary_cpt(self, service: str, year: int) -> str:
        codes, cum_weights = self._primary_options(service, year)
        return self.r.choices(codes, cum_weights=cum_weights)[0]

    def _side(self, cpt: str) -> str | None:
        if self.policy.catalog_row(cpt)["laterality"] != "paired":
            return None
        bilateral_p = self.policy.procedures[cpt].get("bilateral_p", 0.0)
        return "B" if self._chance(bilateral_p) else self._pick(["R", "L"])

    def _diagnosis(self, cpt: str, side: str | None, valid) -> tuple[str | None, str | None]:
        entries = [
            e for e in self.policy.procedures[cpt]["diagnoses"]
            if e.get("weight", 1) > 0 and (side or "R") in e.get("only", SIDES)
        ]
        resolved = [(e, resolve_diagnosis(e, side or "R", valid)) for e in entries]
        resolved = [(e, code) for e, code in resolved if code]
        if not resolved:
            return None, None
        entry, code = self.r.choices(resolved, weights=[e.get("weight", 1) for e, _ in resolved])[0]
        return code, self._pick(entry["names"])

    def _encounter(self, encounter_id, service, date, fy, age, sex, valid) -> tuple[dict, dict]:
        year = date.year
        primary = self._primary_cpt(service, year)
        side = self._side(primary)
        procedures = [{"cpt": primary, "side": side, "distinct": False}]
        for companion in self.policy.raw["companions"].get(primary, []):
            if self.policy.cpt_valid(companion["cpt"], year) and self._chance(companion["p"]):
                paired = self.policy.catalog_row(companion["cpt"])["laterality"] == "paired"
                comp_side = (side or self._side(companion["cpt"])) if paired else None
                procedures.append({"cpt": companion["cpt"], "side": comp_side, "distinct": companion["distinct"]})

        if side == "B" and self._diagnosis(primary, "B", valid)[0] is None:
            side = procedures[0]["side"] = self._pick(["R", "L"])  # no bilateral code for this condition
        for proc in procedures:
            proc["name"] = self._pick(self.policy.procedures[proc["cpt"]]["names"])
        # the labels a coder intends, before checking them against the year's code set and the note's text
        candidates = []  # {code, phrase, why, domain}
        for proc in procedures:
            if not self.policy.procedures[proc["cpt"]]["diagnoses"]:
                continue  # an add-on code has no indication of its own: nothing to label, nothing to discard
            code, phrase = self._diagnosis(proc["cpt"], proc["side"], valid)
            if code not in [c["code"] for c in candidates]:
                candidates.append({"code": code, "phrase": phrase, "why": f"indication for {proc['cpt']}"})
        mentioned, billed = self._comorbidities(age, valid)
        candidates += [{**c, "why": "comorbidity billed"} for c in billed]
        findings = self._domain_findings(age, valid)
        candidates += [{**f, "why": "domain finding billed"} for f in findings if f["billed"]]
        history = self.r.sample(self.policy.raw["unbilled_history"], self.r.randint(0, 2))

        surgeon = self._pick(self.surgeons[service])
        assistant = None
        if any(self.policy.catalog_row(p["cpt"])["assistant"] == "yes" for p in procedures) and self._chance(
            self.s.assistant_rate
        ):
            kind = self._weighted({"80": 3, "AS": 5, "82": 1})
            assistant = {"modifier": kind, "name": self._pick(self.assistants[kind])}
        return_ = None
        if self.policy.catalog_row(primary)["global_days"] != "0" and self._chance(self.s.return_rate):
            kind = self._weighted({k: v["weight"] for k, v in self.policy.raw["returns"].items()})
            return_ = {"kind": kind, **self.policy.raw["returns"][kind]}
        obese = any(c["code"].startswith("E66") for c in mentioned if c["code"])
        increased = obese and self.policy.procedures[primary].get("site") in ("abdomen", "groin", "uterus") and self._chance(0.3)

        lines = self._cpt_lines(procedures, surgeon, assistant, return_, increased, year)
        omitted = [s for s in ("assistant", "findings", "specimens", "side_in_header", "postop_dx") if self._chance(self.s.omission_rate)]
        # a documentation gap: the note leaves out the mention of a billed label (never the primary indication)
        unwritten = {c["phrase"] for c in candidates[1:] if c["phrase"] and self._chance(self.s.omission_rate)}
        content = dict(service=service, age=age, sex=sex, date=date.isoformat(), surgeon=surgeon, assistant=assistant,
                       return_=return_, increased=increased, omitted=omitted)
        mentions = dict(procedures=procedures, candidates=candidates, findings=findings, mentioned=mentioned,
                        history=history, unwritten=unwritten)
        surface = surface_forms(self.bank, self.r)
        note, layout = self.writer.write(note_facts(content, mentions, surface))
        labels, discarded = resolve_labels(candidates, note, surface)
        self.shift_r.seed(f"{self.s.seed}:{encounter_id}:shifted")
        shifted_surface = surface_forms(self.shift_bank, self.shift_r)
        shifted_note, _ = self.shift_writer.write(note_facts(content, mentions, shifted_surface))
        self.shifted.append({"encounter_id": encounter_id, "op_note": shifted_note,
                             "icd10_evidence": shifted_evidence(labels, shifted_note, shifted_surface)})
        for line, proc_line in zip(lines, self._line_procedures(procedures, lines)):
            line["rationale"] = cpt_rationale(proc_line["name"], line, surgeon)
        record = {
            "encounter_id": encounter_id,
            "surgery_date": date.isoformat(),
            "service": service,
            "patient_age": age,
            "patient_sex": sex,
            "op_note": note,
            "icd10": [label["code"] for label in labels],
            "icd10_evidence": [{"code": label["code"], **label["evidence"]} for label in labels],
            "cpt_lines": lines,
        }
        choice = {
            "encounter_id": encounter_id,
            "fiscal_year": fy,
            "procedures": procedures,
            "diagnoses": labels,
            "discarded": discarded,
            "discard_counts": dict(Counter(d["reason"] for d in discarded)),
            "comorbidities_mentioned": [c["code"] for c in mentioned],
            "domain_findings": findings,
            "unwritten_mentions": sorted(unwritten),
            "unbilled_history": history,
            "assistant": assistant,
            "return": return_ and {"kind": return_["kind"], "modifier": return_["modifier"]},
            "modifier_22": increased,
            "omitted": omitted,
            "note_layout": layout,
        }
        return record, choice

    def _comorbidities(self, age: int, valid) -> tuple[list[dict], list[dict]]:
        """(mentioned, billed) history conditions, each {code (None if no code is valid this year), phrase}."""
        mentioned, billed = [], []
        for entry in self.policy.comorbidities:
            if age < entry.get("min_age", 0) or not self._chance(entry["p"]):
                continue
            item = {"code": next((c for c in entry["codes"] if c in valid), None), "phrase": self._pick(entry["names"])}
            mentioned.append(item)
            if self._chance(entry["billed"]):
                billed.append(item)
        return mentioned, billed

    def _domain_findings(self, age: int, valid) -> list[dict]:
        """Paper 002's domain findings present in this patient: code (or None), domain, note section, phrase, billed."""
        found = []
        for entry in self.policy.raw["domain_findings"]:
            if not entry.get("min_age", 0) <= age <= entry.get("max_age", 200) or not self._chance(entry["p"]):
                continue
            weights = self.policy.raw["domain_documentation"][entry["domain"]]
            sections = {k: weights.get(k, 0) for k in entry["mentions"] if weights.get(k, 0) > 0}
            section = self._weighted(sections)
            found.append({"code": next((c for c in entry["codes"] if c in valid), None), "domain": entry["domain"],
                          "section": section, "phrase": self._pick(entry["mentions"][section]),
                          "billed": self._chance(entry["billed"])})
        return found

    def _line_procedures(self, procedures: list[dict], lines: list[dict]) -> list[dict]:
        """The procedure each CPT line bills (surgeon lines in procedure order, then assistant lines by code)."""
        by_cpt = {p["cpt"]: p for p in procedures}
        return [by_cpt[line["cpt"]] for line in lines]

    def _cpt_lines(self, procedures, surgeon, assistant, return_, increased, year) -> list[dict]:
        lines = []
        for position, proc in enumerate(procedures):
            row = self.policy.catalog_row(proc["cpt"])
            mods = []
            if proc["side"] == "B":
                mods.append("50")
            elif proc["side"] in ("R", "L"):
                mods.append(proc["side"] + "T")
            if position > 0 and row["add_on"] != "yes":
                mods.append("51")
                if proc["distinct"]:
                    mods.append("XS" if year >= 2019 and self._chance(0.6) else "59")
            if return_:
                mods.append(return_["modifier"])
            if increased and position == 0:
                mods.append("22")
            lines.append({"provider": surgeon, "cpt": proc["cpt"], "modifiers": order_modifiers(mods),
                          "description": row["description"]})
        if assistant:
            for proc, line in zip(procedures, list(lines)):
                if self.policy.catalog_row(proc["cpt"])["assistant"] == "yes":
                    mods = [m for m in line["modifiers"] if m != "22"] + [assistant["modifier"]]
                    lines.append({**line, "provider": assistant["name"], "modifiers": order_modifiers(mods)})
        return lines

def surface_forms(bank, r: random.Random):
    """A note's phrase -> surface form function: each policy phrase gets one form from the bank, drawn on its first
    use, so a finding named in the header and again in the history reads the same in both places."""
    chosen: dict[str, str] = {}

    def surface(phrase: str) -> str:
        if phrase not in chosen:
            chosen[phrase] = bank.surface(phrase, r)
        return chosen[phrase]

    return surface


def note_facts(content: dict, mentions: dict, surface) -> NoteFacts:
    """What the note documents, every coded mention and procedure name in its surface form (``surface``); mentions
    the generator left unwritten (a documentation gap) are not in it."""
    unwritten = mentions["unwritten"]
    findings = mentions["findings"]

    def written(items: list[dict]) -> list[str]:
        return [surface(item["phrase"]) for item in items if item["phrase"] and item["phrase"] not in unwritten]

    indications = [c for c in mentions["candidates"] if c["why"].startswith("indication")]
    return NoteFacts(
        procedures=[{**proc, "name": surface(proc["name"])} for proc in mentions["procedures"]],
        indications=written(indications) or ["the documented condition"],
        header_findings=written([f for f in findings if f["section"] == "header"]),
        history=written(mentions["mentioned"] + [f for f in findings if f["section"] == "history"])
        + mentions["history"],
        social=written([f for f in findings if f["section"] == "social"]),
        nursing=written([f for f in findings if f["section"] == "nursing"]),
        **content,
    )


def shifted_evidence(labels: list[dict], note: str, surface) -> list[dict]:
    """The evidence of the same labels in the encounter's style-shifted note (every label the extract kept is
    written there too, in the other bank's form: a label not found is a generator fault, never skipped)."""
    lines = note.split("\n")
    evidence = []
    for label in labels:
        found = find_evidence(lines, surface(label["phrase"]))
        if found is None:
            raise AssertionError(f"style-shifted note lost the evidence of {label['code']} ({label['phrase']!r})")
        evidence.append({"code": label["code"], "line": found[0], "text": found[1]})
    return evidence


def resolve_labels(candidates: list[dict], note: str, surface=lambda phrase: phrase) -> tuple[list[dict], list[dict]]:
    """(labels kept, each with its evidence {line, text}; labels discarded, each with its reason), in candidate order.

    A label is kept when it has a code valid in the fiscal year and its phrase, in the surface form the note wrote
    (``surface``), is in the note (the first line that has it, whole words, any case); a code already kept is not
    repeated. ``phrase`` stays the policy's wording; ``written`` is the note's."""
    lines = note.split("\n")
    kept, discarded = [], []
    for candidate in candidates:
        found = None
        if candidate["code"] is None:
            reason = "no_valid_code_in_fiscal_year"
        elif candidate["code"] in [k["code"] for k in kept]:
            reason = "duplicate_code"
        elif (found := find_evidence(lines, surface(candidate["phrase"]))) is None:
            reason = "no_evidence_in_note"
        if found:
            kept.append({**candidate, "written": found[1], "evidence": {"line": found[0], "text": found[1]}})
        else:
            discarded.append({**candidate, "reason": reason})
    return kept, discarded


def cpt_rationale(name: str, line: dict, surgeon: str) -> str:
    """A short reason for a CPT line: the documented procedure, and what each modifier says."""
    who = "" if line["provider"] == surgeon else "Assistant at surgery for "
    mods = "; ".join(f"{m}: {MODIFIER_REASONS.get(m, 'as documented')}" for m in line["modifiers"])
    text = f"{who}{name} documented" + (f" ({mods})" if mods else "") + "."
    return text[0].upper() + text[1:]


def order_modifiers(mods: list[str]) -> list[str]:
    """Billing order: pricing modifiers first, informational (59/XS, RT/LT) last; no duplicates."""
    unique = list(dict.fromkeys(mods))
    return sorted(unique, key=lambda m: MODIFIER_ORDER.index(m) if m in MODIFIER_ORDER else len(MODIFIER_ORDER))


def generate_extract(settings: SyntheticSettings, cpt_catalog_path=None,
                     icd10cm_files: dict | None = None) -> tuple[list[dict], list[dict]]:
    return generate_extract_and_shift(settings, cpt_catalog_path, icd10cm_files)[:2]


def generate_extract_and_shift(settings: SyntheticSettings, cpt_catalog_path=None,
                               icd10cm_files: dict | None = None) -> tuple[list[dict], list[dict], list[dict]]:
    """(records, choices, style-shifted notes): each encounter's note written again by ``settings.shifted_phrasing``,
    as ``{encounter_id, op_note, icd10_evidence}`` (same gold codes; claimbench.data.shift makes the test set)."""
    generator = Generator(settings, Policy(cpt_catalog_path=cpt_catalog_path), icd10cm_files)
    records, choices = generator.generate()
    return records, choices, generator.shifted
