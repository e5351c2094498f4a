"""Writes data.csv: a deterministic table with nulls, duplicates and bad values for the parity suite."""
import csv
import random
import sys
from pathlib import Path

rnd = random.Random(5)
N = 400
rows = []
for i in range(N):
    age = "" if i % 23 == 0 else str(rnd.randint(0, 99) if i % 97 else -1)
    score = "" if i % 31 == 0 else f"{rnd.gauss(50, 10):.3f}"
    country = "" if i % 19 == 0 else rnd.choice(["US", "DE", "FR", "RU", "BR", "US", "US"]) if i % 53 else "xx"
    email = f"user{i}@example.com" if i % 41 else f"user{i}example.com"
    day = f"2024-{(i % 12) + 1:02d}-{(i % 28) + 1:02d}" if i % 67 else "2024-02-30"
    signup = "" if i % 29 == 0 else day
    a = "" if i % 37 == 0 else str(rnd.randint(0, 100))
    b = "" if i % 43 == 0 else str(rnd.randint(0, 90))
    p = "" if i % 47 == 0 else str(rnd.randint(0, 100))
    q = str(100 - int(p)) if p and i % 59 else str(rnd.randint(0, 100))
    rows.append([i + 1, age, score, country, email, signup, a, b, p, q, i % 50])
out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("data.csv"))
with out.open("w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "age", "score", "country", "email", "signup", "a", "b", "p", "q", "grp"])
    w.writerows(rows)
