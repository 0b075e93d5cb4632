from bot.core import render_text


def test_ask_answers_a_plain_question(core):
    reply = core.ask("大力出奇迹")
    assert reply.answered
    assert reply.quotes and "大力出奇迹" in reply.quotes[0].text
    assert "第" in render_text(reply)
