"""Writes tests/fixtures/sacrebleu_scores.jsonl: sentence chrF and BLEU from
sacrebleu for a fixed set of (hypothesis, reference) pairs. restlm's rewards
are tested against it. Run by hand: pip install sacrebleu; python3 scripts/make_reward_fixture.py"""
import json
import random
import sacrebleu
from sacrebleu.metrics import CHRF, BLEU

pairs = [
    ("la hundo granda birdon ruĝan vidas", "la hundo granda birdon ruĝan vidas"),
    ("la hundo birdon vidas", "la hundo granda birdon ruĝan vidas"),
    ("hundo granda vidas birdon", "la hundo granda birdon ruĝan vidas"),
    ("", "la kato fiŝon manĝas"),
    ("la kato fiŝon manĝas", ""),
    ("a", "a"),
    ("The cat sat on the mat.", "The cat is sitting on the mat."),
    ("Hello, world! It's 3.5 degrees -- isn't it?", "Hello world, it is 3.5 degrees, isn't it?"),
    ("über café naïve — 東京 にいます", "über cafe naive - 東京にいます"),
    ("x y z", "a b c"),
    ("the the the the", "the cat"),
    ("Prices rose 4-5% in 2023, (per the report).", "Prices rose 4-5 % in 2023 (per the report)."),
]
rng = random.Random(0)
words = "la hundo kato birdo granda ruĝa vidas manĝas infanoj feliĉaj reĝon".split()
for _ in range(40):
    ref = " ".join(rng.choice(words) for _ in range(rng.randint(1, 8)))
    hyp = " ".join(rng.choice(words) for _ in range(rng.randint(1, 8)))
    pairs.append((hyp, ref))

chrf = CHRF()  # chrF2: char order 6, word order 0, beta 2
bleu = BLEU(effective_order=True)  # as sentence_bleu: 13a, exp smoothing
with open("tests/fixtures/sacrebleu_scores.jsonl", "w") as f:
    for hyp, ref in pairs:
        row = {
            "hypothesis": hyp,
            "reference": ref,
            "chrf": chrf.sentence_score(hyp, [ref]).score,
            "bleu": bleu.sentence_score(hyp, [ref]).score,
        }
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
print("sacrebleu", sacrebleu.__version__, len(pairs), "pairs")
