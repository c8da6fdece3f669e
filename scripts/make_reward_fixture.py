"""Writes tests/fixtures/sacrebleu_scores.jsonl: sentence chrF and BLEU from
sacrebleu for a fixed set of hypotheses, each with one or several
references (sacrebleu's multi-reference rules: chrF takes the best
reference, BLEU clips n-gram counts by their maximum over the references and
takes the closest reference length). restlm's rewards are tested against
it. Run by hand: pip install sacrebleu; python3 scripts/make_reward_fixture.py"""
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
pairs = [(hyp, [ref]) for hyp, ref in pairs]
rng = random.Random(0)
words = "la hundo kato birdo granda ruĝa vidas manĝas infanoj feliĉaj reĝon".split()
sentence = lambda lo, hi: " ".join(rng.choice(words) for _ in range(rng.randint(lo, hi)))
for _ in range(40):
    pairs.append((sentence(1, 8), [sentence(1, 8)]))
# Several references: word-order variants of one sentence, unrelated ones,
# references of different lengths (the brevity penalty's closest length,
# ties to the shorter), and duplicates.
pairs += [
    ("la hundo granda birdon vidas", ["la hundo granda birdon vidas", "granda hundo vidas birdon"]),
    ("hundo vidas birdon", ["la hundo granda birdon ruĝan vidas", "granda hundo vidas birdon"]),
    ("vidas la hundo", ["la hundo vidas", "hundo vidas la birdon ruĝan"]),
    ("a b c d", ["a b", "a b c d e f", "x y"]),
    ("a b c", ["a b c d", "a b"]),
    ("kato", ["kato", "kato"]),
    ("", ["la kato", "kato"]),
]
for _ in range(40):
    n = rng.randint(2, 5)
    pairs.append((sentence(1, 8), [sentence(1, 8) for _ in range(n)]))

chrf = CHRF()  # chrF2: char order 6, word order 0, beta 2
bleu = BLEU(effective_order=True)  # as sentence_bleu: 13a, exp smoothing
with open("tests/fixtures/sacrebleu_scores.jsonl", "w") as f:
    for hyp, refs in pairs:
        row = {
            "hypothesis": hyp,
            "references": refs,
            "chrf": chrf.sentence_score(hyp, refs).score,
            "bleu": bleu.sentence_score(hyp, refs).score,
        }
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
print("sacrebleu", sacrebleu.__version__, len(pairs), "pairs")
