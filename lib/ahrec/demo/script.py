"""What the demo participants say: answers with a planted (noisy) text cue.

The text cue must be learnable but not trivial: a hedging answer (cue 1) uses
ambivalent wording drawn from many variants, a confident one (cue 0) committed
wording; both share topic words, openers such as "well" or "yes", and neutral
sentences, so no single word separates the classes. Every sentence has commas
because real transcripts do (and the BAH reader must cope with them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Topics of the interview questions (health behaviour change, as in BAH).
# "acts" complete "I will ...", "nouns" fill neutral sentences.
TOPICS: dict[str, dict[str, list[str]]] = {
    "exercise": {
        "acts": [
            "exercise more",
            "go for a walk every day",
            "join a gym",
            "take the stairs at work",
            "start jogging in the morning",
        ],
        "nouns": ["exercise", "the gym", "walking", "sports"],
    },
    "diet": {
        "acts": [
            "eat more vegetables",
            "cut down on sugar",
            "cook at home more often",
            "eat less fast food",
            "drink more water",
        ],
        "nouns": ["food", "my diet", "cooking", "snacks"],
    },
    "smoking": {
        "acts": [
            "quit smoking",
            "cut down on cigarettes",
            "use nicotine patches",
            "stop smoking at work",
        ],
        "nouns": ["smoking", "cigarettes", "my lungs"],
    },
    "sleep": {
        "acts": [
            "go to bed earlier",
            "sleep eight hours a night",
            "stop using my phone at night",
            "keep a regular bedtime",
        ],
        "nouns": ["sleep", "my bedtime", "being tired"],
    },
    "alcohol": {
        "acts": [
            "drink less alcohol",
            "stop drinking on weekdays",
            "cut back on beer",
            "skip wine at dinner",
        ],
        "nouns": ["alcohol", "drinking", "going out"],
    },
    "stress": {
        "acts": [
            "meditate more often",
            "take more breaks",
            "talk to someone about stress",
            "work fewer hours",
        ],
        "nouns": ["stress", "my job", "relaxing"],
    },
    "screens": {
        "acts": [
            "spend less time on screens",
            "turn off my phone in the evening",
            "watch less television",
        ],
        "nouns": ["screens", "my phone", "social media"],
    },
    "medication": {
        "acts": [
            "take my medication every day",
            "see my doctor regularly",
            "check my blood pressure",
        ],
        "nouns": ["my medication", "my doctor", "my blood pressure"],
    },
}

# Cue 1: ambivalent or hesitant wording. Some start with "yes" or "well" on
# purpose, so that those words appear in both classes.
HEDGE_TEMPLATES: list[str] = [
    "Um, I guess I could {act}, but I'm not sure.",
    "Maybe, I don't know, I kind of want to {act}.",
    "Well, on the one hand I should {act}, but then again, it is hard.",
    "I mean, I would like to {act}, but I'm not sure I can.",
    "Hmm, I think so, maybe, I'm not really sure.",
    "I don't know, sometimes I want to {act}, sometimes I don't.",
    "Uh, it depends, I might {act}, or maybe not.",
    "Part of me wants to {act}, but part of me doesn't.",
    "I suppose I should {act}, I guess, but, um, it's complicated.",
    "Yes, I guess, maybe I could {act}, at some point.",
    "I want to {act}, really, but on the other hand, I like my habits.",
    "Well, I'm kind of torn, to be honest, I'm not sure.",
    "I could try to {act}, perhaps, if things calm down.",
    "It's hard to say, I might, I might not.",
    "I would like to {act}, but it is hard for me.",
    "Sometimes I want to {act}, and sometimes I really don't.",
]

# Cue 0: committed, confident wording ("I think" appears here too).
CONFIDENT_TEMPLATES: list[str] = [
    "Yes, definitely, I will {act}.",
    "Absolutely, I am going to {act}.",
    "I am sure I can {act}, it is important to me.",
    "I have decided to {act}, starting this week.",
    "Yes, I really want to {act}, and I will.",
    "I will {act}, no question about it.",
    "For sure, I already started to {act}.",
    "I am ready to {act}, and I know why.",
    "Of course, I can {act}, it is easy for me.",
    "I think I will {act}, yes, I am certain.",
    "Well, it is simple, I will {act}.",
    "My plan is clear, I will {act}, every week.",
    "Definitely, I committed to {act}, and I am sticking to it.",
    "Maybe it sounds simple, but I will {act}.",
    "I guess it is time, I will {act}, definitely.",
]

# Shared by both classes: context that carries no cue.
NEUTRAL_TEMPLATES: list[str] = [
    "I have thought about {noun} a lot lately.",
    "My doctor talked to me about {noun}, last month.",
    "My family says {noun} matters, and they help me.",
    "For me, it is about {noun}, and my health.",
    "Last year, I read about {noun} online.",
    "Work keeps me busy, most days.",
    "At home, we talk about {noun} sometimes.",
    "Right now, {noun} is part of my routine.",
]

OPENERS: list[str] = ["Well,", "So,", "Okay,", "Yes,"]

# Words and phrases counted by the sanity check of the planted text cue.
HEDGE_MARKERS: tuple[str, ...] = (
    "um",
    "uh",
    "hmm",
    "maybe",
    "i guess",
    "not sure",
    "kind of",
    "i don't know",
    "on the other hand",
    "then again",
    "might",
    "perhaps",
    "i suppose",
    "torn",
    "it depends",
    "hard to say",
    "part of me",
)


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer: its words, whether it carries the cue, its priority.

    ``priority`` 0 is never dropped; higher numbers go first when the answer
    must be shortened to fit the video.
    """

    text: str
    cue_bearing: bool
    priority: int

    def phrases(self) -> list[str]:
        """The comma-separated phrases, spoken with a pause between them."""
        parts = [p.strip() for p in self.text.split(",")]
        return [p for p in parts if p]


def _pick(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _fill(template: str, topic: dict[str, list[str]], rng: np.random.Generator) -> str:
    return template.format(act=_pick(rng, topic["acts"]), noun=_pick(rng, topic["nouns"]))


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def compose_answer(topic_name: str, text_cue: int, rng: np.random.Generator) -> list[Sentence]:
    """The sentences of one answer on ``topic_name`` showing ``text_cue``.

    Structure: an optional shared opener, a cue-bearing core sentence, often a
    neutral sentence, sometimes a second cue sentence; the neutral sentence
    comes first now and then so position is no giveaway either.
    """
    topic = TOPICS[topic_name]
    templates = HEDGE_TEMPLATES if text_cue else CONFIDENT_TEMPLATES
    core_template = _pick(rng, templates)
    core = _fill(core_template, topic, rng)
    if rng.random() < 0.3 and not core.startswith(("Yes", "Well", "Um", "Uh", "Hmm")):
        head = core if core.startswith(("I ", "I'")) else core[:1].lower() + core[1:]
        core = f"{_pick(rng, OPENERS)} {head}"
    sentences = [Sentence(core, True, 0)]
    if rng.random() < 0.65:
        neutral = Sentence(_capitalise(_fill(_pick(rng, NEUTRAL_TEMPLATES), topic, rng)), False, 2)
        if rng.random() < 0.3:
            sentences.insert(0, neutral)
        else:
            sentences.append(neutral)
    if rng.random() < 0.5:
        second = [t for t in templates if t != core_template]
        sentences.append(Sentence(_fill(_pick(rng, second), topic, rng), True, 1))
    return sentences


def hedge_count(text: str) -> int:
    """How many hedge markers a transcript holds (for checking the planted cue)."""
    words = " " + " ".join(text.lower().replace(",", " ").replace(".", " ").split()) + " "
    return sum(words.count(f" {marker} ") for marker in HEDGE_MARKERS)
