#!/usr/bin/env bash
# WordNet 3.0 for METEOR (nltk), offline: Debian's wordnet-base + wordnet-sense-index arranged in the
# nltk_data/corpora/wordnet layout that nltk's WordNetCorpusReader reads. Never uses nltk.download.
#
#   tools/install_wordnet.sh [DEST]        DEST defaults to resources/nltk_data (git-ignored)
#
# The workflow and the tests point NLTK_DATA at DEST (config: evaluation.nltk_data).
# Debian ships every file nltk opens except `lexnames`, the fixed 45-line table of lexicographer files that
# WordNet 3.0 documents in lexnames(5WN); it is written here from that table.
# Other sources: WORDNET_DICT=/path/to/WordNet-3.0/dict (a plain WordNet 3.0 dict folder) instead of the Debian
# packages; or an nltk_data that nltk already finds (~/nltk_data, NLTK_DATA, ...): then, without Debian's files and
# without root, the script says so and succeeds, as METEOR will use that one.
set -euo pipefail

DEST="${1:-resources/nltk_data}"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
TARGET="$DEST/corpora/wordnet"
SRC="${WORDNET_DICT:-/usr/share/wordnet}"

if [ ! -f "$SRC/data.noun" ] || [ ! -f "$SRC/index.sense" ]; then
    if [ "$(id -u)" != 0 ] && "$PY" -c "import nltk; nltk.data.find('corpora/wordnet')" 2>/dev/null; then
        echo "install_wordnet: no Debian WordNet and not root; nltk already finds corpora/wordnet, using that"
        exit 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "install_wordnet: installing Debian packages wordnet-base wordnet-sense-index"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wordnet-base wordnet-sense-index \
            || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                     wordnet-base wordnet-sense-index; }
    fi
fi
if [ ! -f "$SRC/data.noun" ] || [ ! -f "$SRC/index.sense" ]; then
    echo "install_wordnet: no WordNet 3.0 found in $SRC." >&2
    echo "  As root: apt-get install wordnet-base wordnet-sense-index; or set WORDNET_DICT to a WordNet 3.0 dict folder." >&2
    exit 1
fi

mkdir -p "$TARGET"
SRC_ABS="$(cd "$SRC" && pwd)"
# The files nltk's WordNetCorpusReader opens (its _FILES), copied from the Debian install (36 MB): nltk >= 3.10
# refuses symlinks that resolve outside the corpus root ("Security Violation ... escapes root").
for f in cntlist.rev index.sense index.adj index.adv index.noun index.verb \
         data.adj data.adv data.noun data.verb adj.exc adv.exc noun.exc verb.exc; do
    [ -f "$SRC_ABS/$f" ] || { echo "install_wordnet: $SRC_ABS/$f missing" >&2; exit 1; }
    rm -f "$TARGET/$f"
    cp "$SRC_ABS/$f" "$TARGET/$f"
done
# lexnames(5WN): "NN<TAB>name<TAB>syntactic category" (1 noun, 2 verb, 3 adjective, 4 adverb).
if [ -f "$SRC_ABS/lexnames" ]; then
    rm -f "$TARGET/lexnames"
    cp "$SRC_ABS/lexnames" "$TARGET/lexnames"
else
    rm -f "$TARGET/lexnames"
    i=0
    for name in adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body \
                noun.cognition noun.communication noun.event noun.feeling noun.food noun.group noun.location \
                noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession noun.process \
                noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body verb.change \
                verb.cognition verb.communication verb.competition verb.consumption verb.contact verb.creation \
                verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative verb.weather \
                adj.ppl; do
        case "$name" in noun.*) cat=1 ;; verb.*) cat=2 ;; adj.*) cat=3 ;; adv.*) cat=4 ;; esac
        printf '%02d\t%s\t%d\n' "$i" "$name" "$cat" >> "$TARGET/lexnames"
        i=$((i + 1))
    done
fi

# Prove it loads and that METEOR uses it (synonym stage), with no downloader involved.
NLTK_DATA="$(cd "$DEST" && pwd)" "$PY" - <<'PYEOF'
import os
import nltk
from nltk.corpus import wordnet
from nltk.translate.meteor_score import meteor_score

assert wordnet.synsets("dog"), "WordNet loaded but found no synsets for 'dog'"
# "auto" matches "car" only through a WordNet synonym (exact and stem stages miss it): 0.98 with WordNet, 0.33 without.
with_syn = meteor_score([["the", "car", "stopped"]], ["the", "auto", "stopped"], wordnet=wordnet)
assert with_syn > 0.9, f"METEOR synonym stage not working: {with_syn}"
print(f"install_wordnet: WordNet {wordnet.get_version()} at {os.environ['NLTK_DATA']}/corpora/wordnet; "
      f"METEOR synonym check {with_syn:.4f}")
PYEOF
