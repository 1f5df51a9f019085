"""Operative notes that read like dictation: four layout families, varied headings and section order, run-together
sections, abbreviations, lists inside prose, and lengths from a terse brief note to a long narrative.

The writer only lays out what the generator decided (claimbench.data.synthetic): it never drops or invents a coded
mention, and it writes every coded phrase exactly as given — the generator has already chosen each phrase's surface
form from its phrasing bank (claimbench.data.phrasing) — so that the generator can find each label's evidence
afterwards with ``find_evidence``. Abbreviations and the bank's prose rewrites touch boilerplate only. The bank also
words the modifier facts (side, assistant, return to the OR, prolonged work), tells diagnoses in a sentence instead of
a labelled line, names procedures in the technique paragraph, and gives headings and how they meet their text.
Headings, boilerplate and layout weights live in the ``dictation`` section of ``coding_policy.yaml``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from claimbench.data.phrasing import PhrasingBank, load_bank

SIDE_WORDS = {"R": ("right", "right-sided", "R"), "L": ("left", "left-sided", "L"), "B": ("bilateral", "both sides")}
EYE_WORDS = {"R": ("right eye", "OD", "right"), "L": ("left eye", "OS", "left"), "B": ("both eyes", "OU")}
ASSISTANT_ROLES = {"80": ["assistant surgeon"], "82": ["assistant surgeon (no qualified resident available)"],
                   "AS": ["physician assistant"]}
RETURN_SENTENCES = ["The patient underwent surgery {weeks} weeks ago and returns now for {reason}.",
                    "This is a return to the operating room {weeks} weeks after the index operation, for {reason}."]
PROLONGED_SENTENCES = ["Dense adhesions from prior surgery and the patient's body habitus added approximately 60 minutes "
                       "to the case.",
                       "The procedure was substantially prolonged by extensive adhesiolysis, about 75 additional minutes."]
EYE_ABBREVIATIONS = ("OD", "OS", "OU")
CONSENT = ["Risks, benefits and alternatives were discussed and informed consent was obtained.",
           "After discussion of the risks and alternatives the patient elected to proceed.",
           "Consent was signed after a discussion of risks including bleeding and infection."]
OPENING = ["The patient was identified in the preoperative area and the operative site was marked.",
           "The patient was brought to the operating room and placed supine.",
           "After identification and a surgical time-out, anesthesia was induced."]
ENDING = ["The patient tolerated the procedure well.", "There were no intraoperative complications.",
          "All counts were correct at the end of the case."]


@dataclass
class NoteFacts:
    """What the note documents. Phrases in ``indications``, ``header_findings``, ``history``, ``social`` and
    ``nursing`` are written verbatim; ``indications[0]`` (the primary indication) is always written."""

    service: str
    age: int
    sex: str
    date: str
    procedures: list[dict]  # {cpt, side, name}; name is the header wording chosen by the generator
    indications: list[str]
    header_findings: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    social: list[str] = field(default_factory=list)
    nursing: list[str] = field(default_factory=list)
    surgeon: str = ""
    assistant: dict | None = None
    return_: dict | None = None
    increased: bool = False
    omitted: list[str] = field(default_factory=list)


def find_evidence(lines: list[str], phrase: str) -> tuple[int, str] | None:
    """(line index, the span as written) of the first whole-word, case-insensitive occurrence of ``phrase``."""
    pattern = re.compile(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", re.IGNORECASE)
    for index, line in enumerate(lines):
        match = pattern.search(line)
        if match:
            return index, match.group(0)
    return None


def section(heading: str, content: str, separator: str = ": ") -> str:
    """``HEADING: content``; a list on its own lines starts on the line after the heading."""
    if content.startswith("\n"):
        return f"{heading}{separator.rstrip() or ':'}{content}"
    return f"{heading}{separator}{content}"


def join_words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class NoteWriter:
    """Writes one note per call from a seeded ``random.Random`` shared with the generator."""

    def __init__(self, dictation: dict, procedures: dict, rng: random.Random, bank: PhrasingBank | None = None):
        self.d = dictation
        self.procedures = procedures
        self.r = rng
        self.bank = bank or load_bank("plain")
        self.headings = self.bank.headings(dictation["headings"])
        self.titles = self.bank.sentences("titles", dictation["titles"])
        self.separators = self.bank.sentences("heading_separators", [": "])
        self._abbreviations = [
            (re.compile(r"(?<![\w/])" + re.escape(long) + (r"(?!\w)" if long[-1].isalnum() else "")), short)
            for long, short in dictation["abbreviations"].items()
        ]

    def _pick(self, options):
        return self.r.choice(options)

    def _chance(self, p: float) -> bool:
        return self.r.random() < p

    def _h(self, key: str) -> str:
        return self._pick(self.headings[key])

    def _section(self, key: str, content: str) -> str:
        return section(self._h(key), content, self._pick(self.separators))

    def _some(self, pool: list[str]) -> list[str]:
        """One or two sentences of a boilerplate pool (long notes vary in how much they say)."""
        return self.r.sample(pool, min(len(pool), 1 if self._chance(0.6) else 2))

    def _abbreviate(self, text: str, rate: float) -> str:
        """Boilerplate in shorthand, each abbreviation applied with chance ``rate`` (never to coded phrases)."""
        for pattern, short in self._abbreviations:
            if self._chance(rate):
                text = pattern.sub(short, text)
        return text

    # -- pieces ----------------------------------------------------------------------------------------------------
    def side_phrase(self, cpt: str, side: str | None) -> str:
        if side is None:
            return ""
        if self.procedures[cpt].get("site") == "eye":
            return self._pick(self.bank.words("eyes", EYE_WORDS)[side])
        return self._pick(self.bank.words("sides", SIDE_WORDS)[side])

    def _proc_phrase(self, proc: dict, with_side: bool) -> str:
        side = self.side_phrase(proc["cpt"], proc["side"]) if with_side else ""
        name = proc["name"]
        if not side:
            return name
        if side.replace(".", "") in EYE_ABBREVIATIONS:
            return f"{name}, {side}"
        return self._pick([f"{side} {name}", f"{name}, {side}", f"{name} ({side})"])

    def _list(self, items: list[str], inline: bool) -> str:
        """One item as is; several as a numbered list on its own lines, or inside the sentence (dictation)."""
        if len(items) == 1:
            return items[0]
        if inline:
            form = self._pick(["{k}) {t}", "({k}) {t}", "#{k} {t}"])
            return self._pick([", ", "; ", " "]).join(form.format(k=k, t=t) for k, t in enumerate(items, 1))
        return "\n" + "\n".join(f"{k}. {t}" for k, t in enumerate(items, 1))

    def _person(self, f: NoteFacts) -> str:
        if f.age < 18:
            return "girl" if f.sex == "F" else "boy"
        return self._pick(["patient", "pt"]) if self._chance(0.2) else ("woman" if f.sex == "F" else "man")

    def _history_sentence(self, f: NoteFacts, inline_lists: bool) -> str:
        if not f.history:
            return ""
        if inline_lists and len(f.history) > 2 and self._chance(0.5):
            return f"PMH: {self._list(f.history, inline=True)}."
        joined = join_words(f.history)
        return self._pick([f"Past medical history is significant for {joined}.", f"PMH: {joined}.",
                           f"Medical history includes {joined}.", f"Hx of {joined}."])

    def _return_sentence(self, f: NoteFacts) -> str:
        if not f.return_:
            return ""
        weeks = self.r.randint(1, 8)
        reason = self.bank.prose(self._pick(f.return_["reason"]), self.r)
        return self._pick(self.bank.sentences("return_sentences", RETURN_SENTENCES)).format(weeks=weeks, reason=reason)

    def _body(self, f: NoteFacts, extent: str, abbreviate: float) -> list[list[str]]:
        """The description's sentences in three parts (setup, the procedures' own steps, closing): the steps trimmed
        (brief) or wrapped in boilerplate (long)."""
        pools = self.d["narrative"]
        out = []
        if extent == "long":
            for pool in ("arrival", "positioning", "antibiotics", "prep", "timeout", "local"):
                out.extend(self._some(pools[pool]))
        elif extent == "standard" or self._chance(0.4):
            out.append(self._pick(OPENING))
        setup = len(out)
        for proc in f.procedures:
            if proc["side"] and extent != "brief":
                site = self.procedures[proc["cpt"]].get("site", "operative site")
                if site == "eye":
                    out.append(f"Attention was turned to the operative eye ({self.side_phrase(proc['cpt'], proc['side'])}).")
                elif proc["side"] == "B":
                    out.append(self._pick(["Both sides were prepped and draped in sterile fashion.",
                                           f"The {site} was treated on both sides, starting on the right."]))
                else:
                    word = {"R": "right", "L": "left"}[proc["side"]]
                    out.append(self._pick([f"Attention was turned to the {word} side.",
                                           f"The {word} {site} was prepped and draped in sterile fashion."]))
            steps = list(self.procedures[proc["cpt"]]["steps"])
            if extent == "brief":
                steps = steps[: 1 if self._chance(0.6) else 2]
            elif extent == "standard" and not self._chance(0.7):
                steps = steps[: max(1, len(steps) - 1)]
            if self._chance(self.bank.chance("procedure_prose_p")):  # the operation named in the narrative too
                out.append(self._pick(self.bank.sentences("procedure_sentences", [])).format(proc=proc["name"]))
            out.extend(self.bank.prose(step, self.r) for step in steps)
        if f.increased:
            out.append(self._pick(self.bank.sentences("prolonged_sentences", PROLONGED_SENTENCES)))
        closing = len(out)
        if extent == "long":
            for pool in ("hemostasis", "closure", "dressing", "counts", "wakeup"):
                out.extend(self._some(pools[pool]))
        elif extent == "standard" or self._chance(0.5):
            out.append(self._pick(ENDING))
        out = [self._abbreviate(s if setup <= i < closing else self.bank.prose(s, self.r), abbreviate)
               for i, s in enumerate(out)]
        return [out[:setup], out[setup:closing], out[closing:]]

    # -- the note ----------------------------------------------------------------------------------------------------
    def write(self, f: NoteFacts) -> tuple[str, dict]:
        """(note text, the layout choices made) for one encounter."""
        style = self.r.choices(list(self.d["styles"]), weights=list(self.d["styles"].values()))[0]
        layout = {"formal": self._formal, "brief": self._brief, "dictated": self._dictated, "narrative": self._narrative}
        text, detail = layout[style](f)
        return text, {"style": style, **detail}

    def _common(self, f: NoteFacts, inline_lists: bool) -> dict[str, str]:
        """Section key -> content, shared by the layouts (each decides headings, order and joining)."""
        pick = self._pick
        dx = list(f.indications) + list(f.header_findings)
        header_side = "side_in_header" not in f.omitted
        procs = [self._proc_phrase(p, with_side=header_side) for p in f.procedures]
        s = {"preop_dx": self._list(dx, inline_lists)}
        if "postop_dx" not in f.omitted:
            s["postop_dx"] = pick(["Same", "Same as above", "Same as preoperative"]) if self._chance(0.5) else s["preop_dx"]
        s["procedure" if len(procs) == 1 else "procedures"] = self._list(procs, inline_lists)
        s["surgeon"] = f.surgeon
        if f.assistant and "assistant" not in f.omitted:
            role = self._pick(self.bank.words("assistant_roles", ASSISTANT_ROLES)[f.assistant["modifier"]])
            s["assistant"] = f"{f.assistant['name']}, {role}"
        elif not f.assistant and self._chance(0.6):
            s["assistant"] = pick(["None", "none", "Resident physician only"])
        s["anesthesia"] = pick(self.d["anesthesia"])
        main_dx = f.indications[0]
        if "findings" not in f.omitted:
            s["findings"] = pick(["Consistent with the preoperative diagnosis.", "As described above.",
                                  main_dx[0].upper() + main_dx[1:] + " confirmed."])
        s["ebl"] = pick(self.d["ebl"])
        if "specimens" not in f.omitted:
            s["specimens"] = pick(self.d["specimens"])
        s["complications"] = pick(self.d["complications"])
        s["disposition"] = pick(self.d["disposition"])
        if f.social:
            s["social"] = "; ".join(f.social) + "."
        if f.nursing:
            s["nursing"] = "; ".join(f.nursing) + "."
        return s

    def _dx_in_prose(self, f: NoteFacts, s: dict[str, str]) -> str:
        """With the bank's chance, the diagnoses told in a sentence of the indication instead of their labelled line."""
        if "preop_dx" not in s or not self._chance(self.bank.chance("dx_sentence_p")):
            return ""
        del s["preop_dx"]
        return self._pick(self.bank.sentences("dx_sentences", [])).format(
            dx=join_words(list(f.indications) + list(f.header_findings)))

    def _indication(self, f: NoteFacts, history_inline: bool, inline_lists: bool, abbreviate: float,
                     s: dict[str, str] | None = None) -> str:
        person = self._person(f)
        parts = [f"The {person} is a {f.age}-year-old with {f.indications[0]}."]
        if s is not None:
            parts.append(self._dx_in_prose(f, s))
        if history_inline:
            parts.append(self._history_sentence(f, inline_lists))
        parts.append(self._return_sentence(f))
        parts.append(self._abbreviate(self._pick(CONSENT), abbreviate))
        return " ".join(p for p in parts if p)

    def _titled(self, f: NoteFacts, title: str | None = None) -> list[str]:
        lines = [title or self._pick(self.titles)]
        lines.append(self._pick([f"Date of service: {f.date}", f"DOS: {f.date}", f"Date: {f.date}"]))
        if self._chance(0.8):
            lines.append(f"Service: {f.service}")
        return lines

    def _formal(self, f: NoteFacts) -> tuple[str, dict]:
        """Headed sections separated by blank lines, in one of three orders (the template family of v1, widened)."""
        abbreviate = 0.15
        s = self._common(f, inline_lists=self._chance(0.3))
        history_inline = not self._chance(0.3)
        if not history_inline and f.history:
            s["history"] = join_words(f.history) + "."
        s["indications"] = self._indication(f, history_inline, False, abbreviate, s)
        s["description"] = " ".join(sum(self._body(f, "standard", abbreviate), []))
        order_name = self._pick(["diagnoses_first", "staff_first", "indications_first"])
        dx = ["preop_dx", "postop_dx", "procedure", "procedures"]
        staff = ["surgeon", "assistant", "anesthesia"]
        story = ["indications", "history", "social", "nursing"]
        tail = ["description", "findings", "ebl", "specimens", "complications", "disposition"]
        order = {"diagnoses_first": dx + staff + story + tail, "staff_first": staff + dx + story + tail,
                 "indications_first": story + dx + staff + tail}[order_name]
        sections = [self._section(key, s[key]) for key in order if key in s]
        return "\n".join(self._titled(f)) + "\n\n" + "\n\n".join(sections) + "\n", {"order": order_name}

    def _brief(self, f: NoteFacts) -> tuple[str, dict]:
        """A terse brief-op-note: one short line per item, shorthand, a step or two of technique."""
        abbreviate = 0.8
        s = self._common(f, inline_lists=True)
        optional = ["postop_dx", "findings", "specimens"] + ([] if f.assistant else ["assistant"])
        for key in optional:  # a brief note skips what it can (a billed assistant is always named)
            if key in s and self._chance(0.5):
                del s[key]
        sex = {"F": "F", "M": "M"}.get(f.sex, "")
        parts = [f"{f.age}yo {sex} w/ {f.indications[0]}.", self._history_sentence(f, True), self._return_sentence(f)]
        s["indications"] = " ".join(p for p in parts if p)
        s["description"] = " ".join(sum(self._body(f, "brief", abbreviate), []))
        order = ["preop_dx", "postop_dx", "procedure", "procedures", "surgeon", "assistant", "anesthesia",
                 "indications", "social", "nursing", "description", "findings", "ebl", "specimens", "complications",
                 "disposition"]
        if self._chance(0.5):  # the indication first, as some surgeons dictate it
            order.insert(0, order.pop(order.index("indications")))
        lines = [self._pick(["Brief Op Note", "Op Note", "BRIEF OPERATIVE NOTE"]), f"DOS {f.date}"]
        if self.bank.spec.get("headings"):  # a bank with headings of its own replaces the brief note's too
            lines += [self._section(key, s[key]) for key in order if key in s]
        else:
            lines += [section(self.d["brief_headings"][key], s[key], self._pick(self.separators))
                      for key in order if key in s]
        return "\n".join(lines) + "\n", {"order": "indication_first" if order[0] == "indications" else "header_first"}

    def _dictated(self, f: NoteFacts) -> tuple[str, dict]:
        """Sections run together in paragraphs, as a transcriptionist types a dictation: headings inline, lists in
        the prose, social and nursing remarks folded into the indication."""
        abbreviate = 0.6
        s = self._common(f, inline_lists=True)
        end = lambda text: text if text.endswith(".") else text + "."  # noqa: E731
        story = self._indication(f, True, True, abbreviate, s)
        head = ["preop_dx", "postop_dx", "procedure", "procedures", "surgeon", "assistant", "anesthesia"]
        paragraphs = [" ".join(self._section(key, end(s[key])) for key in head if key in s)]
        for key in ("social", "nursing"):
            if key in s:
                story += " " + self._section(key, s[key])
        paragraphs.append(self._section("indications", story))
        paragraphs.append(self._section("description", " ".join(sum(self._body(f, "standard", abbreviate), []))))
        closing = ["findings", "ebl", "specimens", "complications", "disposition"]
        paragraphs.append(" ".join(self._section(key, end(s[key])) for key in closing if key in s))
        separator = self._pick(["\n\n", "\n"])
        return self._pick(self.titles) + "\n" + separator.join(paragraphs) + "\n", {"order": "run_together"}

    def _narrative(self, f: NoteFacts) -> tuple[str, dict]:
        """A long report: separate history, social and nursing sections, the technique in several paragraphs with
        positioning, prep, closure and counts, a postoperative plan and an attestation."""
        abbreviate = 0.1
        pools = self.d["narrative"]
        s = self._common(f, inline_lists=False)
        if f.history:
            s["history"] = join_words(f.history) + "."
        s.setdefault("social", self._pick(["Noncontributory.", "Reviewed and noncontributory."]))
        workup = [self._abbreviate(x, abbreviate) for x in self._some(pools["workup"]) + self._some(pools["counseling"])]
        s["indications"] = " ".join([self._indication(f, False, False, abbreviate, s)] + workup)
        s["description"] = "\n".join(" ".join(part) for part in self._body(f, "long", abbreviate) if part)
        s["plan"] = " ".join(self.r.sample(pools["plan"], self.r.randint(2, len(pools["plan"]))))
        order = ["preop_dx", "postop_dx", "procedure", "procedures", "surgeon", "assistant", "anesthesia", "indications",
                 "history", "social", "nursing", "description", "findings", "ebl", "specimens", "complications",
                 "disposition", "plan"]
        sections = [self._section(key, s[key]) for key in order if key in s]
        sections.append(self._pick(pools["attestation"]))
        return "\n".join(self._titled(f)) + "\n\n" + "\n\n".join(sections) + "\n", {"order": "narrative"}
