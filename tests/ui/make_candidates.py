"""Writes tests/data/studio_candidates.jsonl: realistic paraphrase candidates for the studio's tests and
screenshots. Each group below is what a small teacher might sample as the first sentence after one news
context; every unordered pair within a group is a candidate. Scores are computed for real: length ratio,
ROUGE-L (rouge-score), numbers, and embedding cosine with the embedded all-MiniLM-L6-v2 (no NLI model is
available offline, so NLI scores are absent, as in a real offline run).

Run: .venv/bin/python -m tests.ui.make_candidates
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "data" / "studio_candidates.jsonl"

GROUPS: list[tuple[str, list[str]]] = [
    (
        "CAIRO, Egypt (AP) -- Egypt's parliament approved a new budget on Tuesday.",
        [
            "The budget includes a 12 percent increase in spending on health care.",
            "Spending on health care will rise by 12 percent under the new budget.",
            "Under the plan, health spending goes up 12 percent.",
            "The budget raises health care spending by 15 percent.",
            "Lawmakers said the budget includes a 12 percent increase in spending on health care.",
            "The vote came after weeks of heated debate in the chamber.",
        ],
    ),
    (
        "(CNN) -- Heavy rain caused flooding across southern England on Sunday.",
        [
            "Hundreds of homes were evacuated as rivers burst their banks.",
            "Rivers burst their banks, forcing hundreds of households to leave their homes.",
            "Hundreds of homes were evacuated when rivers overflowed.",
            "Several rivers flooded and hundreds of families had to be evacuated.",
            "The Met Office warned that more rain is expected later in the week.",
            "Hundreds of homes were evacuated as the rivers burst their banks.",
        ],
    ),
    (
        "Tokyo (Reuters) -- Shares of Japanese carmakers fell sharply on Monday.",
        [
            "Toyota's stock dropped 4 percent in early trading.",
            "In early trading, shares of Toyota lost 4 percent.",
            "Toyota shares fell 4 percent shortly after the market opened.",
            "Toyota's stock dropped 7 percent in early trading.",
            "Investors worried that new tariffs would hurt exports.",
            "Concerns about new tariffs on exports weighed on investors.",
        ],
    ),
    (
        "NAIROBI, Kenya (AP) -- Kenya launched a national tree-planting campaign on Friday.",
        [
            "The government aims to plant 15 billion trees by 2032.",
            "Officials hope to plant 15 billion trees by the year 2032.",
            "By 2032, the government wants 15 billion new trees in the ground.",
            "The program seeks to restore degraded forests and farmland.",
            "The campaign is meant to bring back damaged forests and farmland.",
            "The president planted the first seedling at a school in Nairobi.",
        ],
    ),
    (
        "(CNN) -- A new study links regular exercise to better sleep in older adults.",
        [
            "Researchers followed more than 2,000 adults over the age of 65.",
            "The study tracked over 2,000 people older than 65.",
            "More than 2,000 adults aged over 65 took part in the research.",
            "Participants who walked daily fell asleep faster and woke up less often.",
            "People who walked every day fell asleep more quickly and woke less during the night.",
            "Those who took a daily walk slept faster and woke less.",
        ],
    ),
    (
        "Berlin (Reuters) -- Germany's largest union called a nationwide rail strike.",
        [
            "The strike is expected to last three days and affect millions of commuters.",
            "Millions of commuters will be affected by the three-day strike.",
            "The walkout should last for three days, disrupting travel for millions.",
            "The union is demanding higher wages and shorter working hours.",
            "Workers want better pay and a shorter working week.",
            "The strike is expected to last five days and affect millions of commuters.",
        ],
    ),
    (
        "SAO PAULO, Brazil (AP) -- Brazil reported a sharp drop in Amazon deforestation.",
        [
            "Clearing of the rainforest fell by 30 percent compared with last year.",
            "Deforestation in the Amazon was down 30 percent from a year earlier.",
            "The rainforest lost 30 percent less land than it did last year.",
            "Environmental groups welcomed the figures but warned that fires remain a threat.",
            "Conservationists praised the data, while cautioning that wildfires are still a danger.",
            "Clearing of the rainforest fell by 30 percent compared with the previous year.",
        ],
    ),
    (
        "London (Reuters) -- The Bank of England kept interest rates unchanged on Thursday.",
        [
            "Policymakers voted seven to two to hold the rate at 5.25 percent.",
            "The rate was held at 5.25 percent after a seven-to-two vote.",
            "By a vote of seven to two, the bank left rates at 5.25 percent.",
            "The bank said inflation was falling faster than expected.",
            "Inflation is coming down more quickly than the bank had predicted.",
            "Officials noted that price growth had slowed more than forecast.",
        ],
    ),
]

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers_ok(source: str, target: str) -> float:
    return 1.0 if set(_NUMBER.findall(target)) <= set(_NUMBER.findall(source)) else 0.0


def main() -> None:
    from rouge_score import rouge_scorer
    from sentence_transformers import SentenceTransformer

    from models.loading import embedded_embedder_dir

    embedder = SentenceTransformer(str(embedded_embedder_dir()), device="cpu")
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    lines = []
    for context, sentences in GROUPS:
        vectors = embedder.encode(sentences, normalize_embeddings=True)
        for i, j in itertools.combinations(range(len(sentences)), 2):
            source, target = sentences[i], sentences[j]
            scores = {
                "length_ratio": round(len(target) / len(source), 4),
                "rouge_l": round(scorer.score(source, target)["rougeL"].fmeasure, 4),
                "numbers_ok": numbers_ok(source, target),
                "embed_cosine": round(float(vectors[i] @ vectors[j]), 4),
            }
            provenance = {"context": context, "note": "hand-written candidates for the studio's tests"}
            record = {"source": source, "target": target, "task": "paraphrase", "scores": scores}
            lines.append(json.dumps({**record, "provenance": provenance}))
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} pairs to {OUT}")


if __name__ == "__main__":
    main()
