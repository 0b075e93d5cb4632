"""Episodes, segments, FAQ, glossary and lexicon: loading and validation.

Every problem is reported as ``file:line: message`` and loading goes on, so one run of
``python -m bot check`` shows them all. :func:`load_content` returns the content together with the
problems; callers refuse to serve content that has any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .yamlio import LineDict, LineList, Problem, check_keys, load_yaml, read_text

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9\-]*$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Episode:
    id: str
    show: str
    title: str
    date: str = "unknown"
    host: str = ""
    guests: tuple[str, ...] = ()
    link: str = ""
    language: str = "zh"
    summary: str = ""
    transcript: str = "transcript.txt"


@dataclass(frozen=True)
class Segment:
    """One transcript line. ``line`` (1-based) is the citation."""

    episode_id: str
    line: int
    raw: str


@dataclass(frozen=True)
class Citation:
    episode_id: str
    lines: tuple[int, ...]


@dataclass(frozen=True)
class FaqEntry:
    id: str
    questions: tuple[str, ...]
    answer: str
    citations: tuple[Citation, ...]
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    aliases: tuple[str, ...] = ()
    misheard: tuple[str, ...] = ()
    episodes: tuple[str, ...] = ()  # empty: misheard forms apply to every episode
    display: bool = True


@dataclass
class Content:
    root: Path
    episodes: dict[str, Episode] = field(default_factory=dict)
    segments: dict[str, list[Segment]] = field(default_factory=dict)  # episode id → lines in order
    faq: list[FaqEntry] = field(default_factory=list)
    glossary: list[GlossaryTerm] = field(default_factory=list)
    lexicon: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def segment(self, episode_id: str, line: int) -> Segment | None:
        segs = self.segments.get(episode_id)
        if not segs or not 1 <= line <= len(segs):
            return None
        return segs[line - 1]

    def faq_by_id(self, faq_id: str) -> FaqEntry | None:
        return next((e for e in self.faq if e.id == faq_id), None)

    @property
    def segment_count(self) -> int:
        return sum(len(s) for s in self.segments.values())


class ContentError(Exception):
    """Content could not be loaded: ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        head = f"{len(problems)} problem(s) in content"
        super().__init__(head + ":\n" + "\n".join(str(p) for p in problems[:50]))


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent)) if root.parent != path else str(path)
    except ValueError:
        return str(path)


def _str_list(value, shown: str, line: int, what: str, problems: list[Problem]) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problems.append(Problem(shown, line, f"{what} must be a list of texts"))
        return None
    out = []
    for i, item in enumerate(value):
        item_line = value.line_of(i) if isinstance(value, LineList) else line
        if not isinstance(item, str | int | float) or isinstance(item, bool) or not str(item).strip():
            problems.append(Problem(shown, item_line, f"{what}: item {i + 1} must be a non-empty text"))
            return None
        out.append(str(item).strip())
    return tuple(out)


def _text(obj: LineDict, key: str, shown: str, problems: list[Problem], what: str, required=True) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.append(Problem(shown, obj.line_of(key), f"{what}: {key!r} must be a text"))
        return ""
    value = str(value).strip()
    if required and not value:
        problems.append(Problem(shown, obj.line_of(key), f"{what}: {key!r} is empty"))
    return value


# --- episodes -------------------------------------------------------------------------------------------

_EP_REQUIRED = {"id", "show", "title", "language"}
_EP_OPTIONAL = {"date", "host", "guests", "link", "summary", "transcript"}


def _load_episode(folder: Path, root: Path, problems: list[Problem]) -> tuple[Episode, list[Segment]] | None:
    meta_path = folder / "episode.yaml"
    shown = _rel(meta_path, root)
    if not meta_path.exists():
        problems.append(Problem(_rel(folder, root), 0, "episode folder without episode.yaml"))
        return None
    data = load_yaml(meta_path, problems, shown)
    if data is None:
        return None
    if not isinstance(data, LineDict):
        problems.append(Problem(shown, getattr(data, "line", 1), "episode.yaml must be a mapping of keys"))
        return None
    before = len(problems)
    if not check_keys(data, _EP_REQUIRED, _EP_OPTIONAL, shown, problems, "episode"):
        return None
    ep_id = _text(data, "id", shown, problems, "episode")
    if ep_id and not SLUG_RE.match(ep_id):
        problems.append(Problem(shown, data.line_of("id"), f"episode id {ep_id!r}: use a-z, 0-9 and '-'"))
    elif ep_id and ep_id != folder.name:
        problems.append(
            Problem(
                shown, data.line_of("id"), f"episode id {ep_id!r} differs from its folder {folder.name!r}"
            )
        )
    date = _text(data, "date", shown, problems, "episode", required=False) or "unknown"
    if date != "unknown" and not DATE_RE.match(date):
        problems.append(Problem(shown, data.line_of("date"), f"date {date!r}: use YYYY-MM-DD or 'unknown'"))
    link = _text(data, "link", shown, problems, "episode", required=False)
    if link and not link.startswith(("http://", "https://")):
        problems.append(Problem(shown, data.line_of("link"), f"link {link!r} is not an http(s) URL"))
    guests = _str_list(data.get("guests"), shown, data.line_of("guests"), "guests", problems) or ()
    transcript_name = (
        _text(data, "transcript", shown, problems, "episode", required=False) or "transcript.txt"
    )
    episode = Episode(
        id=ep_id,
        show=_text(data, "show", shown, problems, "episode"),
        title=_text(data, "title", shown, problems, "episode"),
        date=date,
        host=_text(data, "host", shown, problems, "episode", required=False),
        guests=guests,
        link=link,
        language=_text(data, "language", shown, problems, "episode"),
        summary=_text(data, "summary", shown, problems, "episode", required=False),
        transcript=transcript_name,
    )
    t_path = folder / transcript_name
    t_shown = _rel(t_path, root)
    if not t_path.is_file():
        problems.append(
            Problem(shown, data.line_of("transcript"), f"transcript file {transcript_name!r} not found")
        )
        return None
    text = read_text(t_path, problems, t_shown)
    if text is None:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    segments = []
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if "\x00" in line:
            problems.append(Problem(t_shown, number, "contains a NUL byte"))
        segments.append(Segment(ep_id, number, line))
    if not any(s.raw.strip() for s in segments):
        problems.append(Problem(t_shown, 1, "transcript is empty"))
    if len(problems) > before:
        return None
    return episode, segments


# --- FAQ ------------------------------------------------------------------------------------------------

_FAQ_REQUIRED = {"id", "questions", "answer", "cite"}
_FAQ_OPTIONAL = {"keywords"}


def _load_faq(path: Path, root: Path, content: Content, problems: list[Problem]) -> list[FaqEntry]:
    shown = _rel(path, root)
    data = load_yaml(path, problems, shown)
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(Problem(shown, getattr(data, "line", 1), "faq.yaml must be a list of entries"))
        return []
    entries: list[FaqEntry] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(data):
        line = data.line_of(i)
        if not isinstance(item, LineDict):
            problems.append(Problem(shown, line, f"FAQ entry {i + 1} must be a mapping"))
            continue
        if not check_keys(item, _FAQ_REQUIRED, _FAQ_OPTIONAL, shown, problems, f"FAQ entry {i + 1}"):
            continue
        fid = _text(item, "id", shown, problems, "FAQ entry")
        if fid and not SLUG_RE.match(fid):
            problems.append(Problem(shown, item.line_of("id"), f"FAQ id {fid!r}: use a-z, 0-9 and '-'"))
        if fid in seen:
            problems.append(
                Problem(shown, item.line_of("id"), f"duplicate FAQ id {fid!r} (first at line {seen[fid]})")
            )
        seen.setdefault(fid, item.line_of("id"))
        questions = _str_list(item["questions"], shown, item.line_of("questions"), "questions", problems)
        if questions == ():
            problems.append(Problem(shown, item.line_of("questions"), f"FAQ {fid!r}: no questions"))
        keywords = _str_list(item.get("keywords"), shown, item.line_of("keywords"), "keywords", problems)
        answer = _text(item, "answer", shown, problems, f"FAQ {fid!r}")
        cites = _load_citations(item, shown, content, problems, fid)
        if questions and answer and cites is not None and keywords is not None:
            entries.append(FaqEntry(fid, questions, answer, cites, keywords))
    return entries


def _load_citations(item: LineDict, shown: str, content: Content, problems: list[Problem], fid: str):
    raw = item["cite"]
    line = item.line_of("cite")
    if not isinstance(raw, list) or not raw:
        problems.append(Problem(shown, line, f"FAQ {fid!r}: 'cite' must be a non-empty list"))
        return None
    out = []
    ok = True
    for j, c in enumerate(raw):
        c_line = raw.line_of(j)
        if not isinstance(c, LineDict):
            problems.append(Problem(shown, c_line, f"FAQ {fid!r}: citation {j + 1} must be a mapping"))
            ok = False
            continue
        if not check_keys(c, {"episode", "lines"}, set(), shown, problems, f"FAQ {fid!r} citation"):
            ok = False
            continue
        ep = str(c["episode"])
        lines = c["lines"]
        if isinstance(lines, int) and not isinstance(lines, bool):
            lines = [lines]
        if not isinstance(lines, list) or not lines:
            problems.append(
                Problem(shown, c.line_of("lines"), f"FAQ {fid!r}: 'lines' must be a list of numbers")
            )
            ok = False
            continue
        if ep not in content.episodes:
            problems.append(Problem(shown, c.line_of("episode"), f"FAQ {fid!r}: unknown episode {ep!r}"))
            ok = False
            continue
        count = len(content.segments[ep])
        for n in lines:
            if isinstance(n, bool) or not isinstance(n, int):
                problems.append(
                    Problem(shown, c.line_of("lines"), f"FAQ {fid!r}: line {n!r} is not a number")
                )
                ok = False
            elif not 1 <= n <= count:
                problems.append(
                    Problem(
                        shown,
                        c.line_of("lines"),
                        f"FAQ {fid!r}: line {n} does not exist in {ep} (it has {count} lines)",
                    )
                )
                ok = False
        out.append(Citation(ep, tuple(n for n in lines if isinstance(n, int))))
    return tuple(out) if ok else None


# --- glossary and lexicon -------------------------------------------------------------------------------

_GL_REQUIRED = {"term"}
_GL_OPTIONAL = {"aliases", "misheard", "episodes", "display"}


def _load_glossary(path: Path, root: Path, content: Content, problems: list[Problem]) -> list[GlossaryTerm]:
    from .text import normalize

    shown = _rel(path, root)
    data = load_yaml(path, problems, shown)
    if data is None:
        return []
    if not isinstance(data, list):
        problems.append(Problem(shown, getattr(data, "line", 1), "glossary.yaml must be a list of terms"))
        return []
    terms: list[GlossaryTerm] = []
    owner: dict[tuple[str, str], tuple[str, int]] = {}  # (scope, normalized form) → (term, line)
    for i, item in enumerate(data):
        line = data.line_of(i)
        if not isinstance(item, LineDict):
            problems.append(Problem(shown, line, f"glossary entry {i + 1} must be a mapping"))
            continue
        if not check_keys(item, _GL_REQUIRED, _GL_OPTIONAL, shown, problems, f"glossary entry {i + 1}"):
            continue
        term = _text(item, "term", shown, problems, "glossary entry")
        aliases = _str_list(item.get("aliases"), shown, item.line_of("aliases"), "aliases", problems)
        misheard = _str_list(item.get("misheard"), shown, item.line_of("misheard"), "misheard", problems)
        episodes = _str_list(item.get("episodes"), shown, item.line_of("episodes"), "episodes", problems)
        display = item.get("display", True)
        if not isinstance(display, bool):
            problems.append(
                Problem(shown, item.line_of("display"), f"{term!r}: 'display' must be true or false")
            )
            display = True
        if aliases is None or misheard is None or episodes is None or not term:
            continue
        for ep in episodes:
            if ep not in content.episodes:
                problems.append(Problem(shown, item.line_of("episodes"), f"{term!r}: unknown episode {ep!r}"))
        scopes = episodes or ("*",)
        for key, forms in (("term", (term,)), ("aliases", aliases), ("misheard", misheard)):
            for form in forms:
                norm = normalize(form)
                if not norm:
                    problems.append(Problem(shown, item.line_of(key), f"{term!r}: form {form!r} is empty"))
                    continue
                form_scopes = ("*",) if key != "misheard" else scopes
                for scope in form_scopes:
                    prev = owner.get((scope, norm))
                    if prev and prev[0] != term:
                        problems.append(
                            Problem(
                                shown,
                                item.line_of(key),
                                f"{term!r}: form {form!r} already belongs to {prev[0]!r} (line {prev[1]})",
                            )
                        )
                    owner[(scope, norm)] = (term, item.line_of(key))
        if term in {t.term for t in terms}:
            problems.append(Problem(shown, item.line_of("term"), f"duplicate glossary term {term!r}"))
            continue
        terms.append(GlossaryTerm(term, aliases, misheard, episodes, display))
    return terms


def _load_lexicon(path: Path, root: Path, problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    shown = _rel(path, root)
    data = load_yaml(path, problems, shown)
    if data is None:
        return {}
    if not isinstance(data, LineDict):
        problems.append(Problem(shown, getattr(data, "line", 1), "lexicon.yaml must be a mapping"))
        return {}
    out = {}
    for key, value in data.items():
        words = _str_list(value, shown, data.line_of(key), f"lexicon {key!r}", problems)
        if words is None:
            continue
        if not words:
            problems.append(Problem(shown, data.line_of(key), f"lexicon {key!r}: no translation"))
            continue
        out[" ".join(key.lower().split())] = words
    return out


# --- all of it ------------------------------------------------------------------------------------------


def load_content(root: Path | str) -> tuple[Content, list[Problem]]:
    """Load and validate everything under ``root``. Returns the content and every problem found."""
    root = Path(root)
    problems: list[Problem] = []
    content = Content(root=root)
    if not root.is_dir():
        problems.append(Problem(str(root), 0, "content folder not found"))
        return content, problems
    ep_root = root / "episodes"
    folders = (
        sorted(p for p in ep_root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if ep_root.is_dir()
        else []
    )
    if not folders:
        problems.append(
            Problem(_rel(ep_root, root), 0, "no episodes: add a folder with episode.yaml and transcript.txt")
        )
    for folder in folders:
        loaded = _load_episode(folder, root, problems)
        if loaded:
            episode, segments = loaded
            if episode.id in content.episodes:
                problems.append(
                    Problem(_rel(folder / "episode.yaml", root), 1, f"duplicate episode id {episode.id!r}")
                )
                continue
            content.episodes[episode.id] = episode
            content.segments[episode.id] = segments
    if (root / "faq.yaml").exists():
        content.faq = _load_faq(root / "faq.yaml", root, content, problems)
    if (root / "glossary.yaml").exists():
        content.glossary = _load_glossary(root / "glossary.yaml", root, content, problems)
    if (root / "lexicon.yaml").exists():
        content.lexicon = _load_lexicon(root / "lexicon.yaml", root, problems)
    return content, problems


def load_valid_content(root: Path | str) -> Content:
    """Load content, raising :class:`ContentError` with every problem when anything is wrong."""
    content, problems = load_content(root)
    if problems:
        raise ContentError(problems)
    return content
