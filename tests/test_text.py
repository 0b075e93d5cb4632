"""Normalization: both sides of a match go through the same steps."""

from bot.text import (
    collapse_cjk_spaces,
    display_text,
    is_question,
    join_spelled_letters,
    normalize,
    split_sentences,
)


def test_full_width_becomes_half_width_and_lower_case():
    assert normalize("ＡＩ公司ＧＰＴ４") == "ai公司gpt4"


def test_traditional_becomes_simplified():
    assert normalize("上一代公司為啥沒做起來") == "上一代公司为啥没做起来"


def test_spaces_between_chinese_words_go_but_latin_words_stay_apart():
    assert normalize("我们 看 了 take report 之后") == "我们看了 take report 之后"
    assert "takereport" not in normalize("那 一个 take report 里头")


def test_spelled_letters_are_joined_but_long_runs_stay():
    assert join_spelled_letters("对 A G I 这件 事") == "对 AGI 这件 事"
    assert join_spelled_letters("M I T C M U") == "M I T C M U"
    assert join_spelled_letters("open I 的") == "open I 的"


def test_mentions_emoji_and_control_characters_go():
    assert normalize("<@123456> 你好🤔\x00 @bot") == "你好"
    assert normalize("<@&987> @everyone 问题☀️") == "问题"


def test_punctuation_spacing():
    assert collapse_cjk_spaces("然后 ， 我们 。 好") == "然后，我们。好"


def test_display_text_reads_like_chinese():
    assert display_text("我 觉得 sora 很 好, 对 吧?") == "我觉得 sora 很好，对吧？"


def test_sentences_split_on_chinese_and_latin_marks():
    text = "第一句。第二句? 第三句! 没有句号"
    spans = split_sentences(text)
    assert [text[a:b].strip() for a, b in spans] == ["第一句。", "第二句?", "第三句!", "没有句号"]
    assert is_question("第二句?") and not is_question("第一句。")
