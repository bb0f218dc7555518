"""WecomSender against the fake WeCom API with the real clients (wechatpy and the httpx one):
one template per guide, attachments, refusals, a lost answer found again, retries."""

from __future__ import annotations

import pytest

from siyu.messaging.channels import wecom
from siyu.messaging.channels.wecom import WecomSender
from siyu.messaging.sending import Outgoing
from siyu.wecom.client import WecomClient
from tests.wecom import conftest as wecom_fixtures
from tests.wecom.fake_server import CORP_ID, CORP_SECRET, FakeTencent

fake_wecom = wecom_fixtures.fake_wecom  # the fake API, and the settings pointing at it

TEXT = {"text": "双十二会员日，全场满 300 减 50"}


def outgoing(n: int, external: str, guide: str, content: dict | None = None) -> Outgoing:
    return Outgoing(
        delivery_id=n,
        key=f"broadcast:1:customer:{n}",
        channel="wecom",
        customer_id=n,
        address=external,
        purpose="marketing",
        content=dict(TEXT if content is None else content),
        guide_userid=guide,
    )


def three_guides(fake: FakeTencent) -> list[Outgoing]:
    """Two customers each for guides lily, mei and wang."""
    batch = []
    for g, guide in enumerate(("lily", "mei", "wang")):
        for c in range(2):
            external = f"wm-{guide}-{c}"
            fake.state.add_contact(external, f"顾客{g}{c}", guide)
            batch.append(outgoing(10 * g + c + 1, external, guide))
    return batch


def sender(fake: FakeTencent) -> WecomSender:
    return WecomSender(client=WecomClient(CORP_ID, CORP_SECRET, fake.wecom_base))


def test_a_group_send_makes_one_template_per_guide(fake_wecom):
    batch = three_guides(fake_wecom)

    outcomes = sender(fake_wecom).send(batch)

    calls = fake_wecom.state.calls_to("externalcontact/add_msg_template")
    assert sorted(c.body["sender"] for c in calls) == ["lily", "mei", "wang"]
    lily = next(c.body for c in calls if c.body["sender"] == "lily")
    assert lily["chat_type"] == "single"
    assert lily["external_userid"] == ["wm-lily-0", "wm-lily-1"]
    assert lily["text"] == {"content": TEXT["text"]}
    assert {o.status for o in outcomes} == {"pending"}
    by_id = {o.delivery_id: o.provider_id for o in outcomes}
    assert by_id[1] == by_id[2] != by_id[11]
    assert len(set(by_id.values())) == 3


def test_different_texts_for_one_guide_are_separate_templates(fake_wecom):
    fake_wecom.state.add_contact("wm-a", "A", "lily")
    fake_wecom.state.add_contact("wm-b", "B", "lily")
    batch = [
        outgoing(1, "wm-a", "lily", {"text": "王女士，您好"}),
        outgoing(2, "wm-b", "lily", {"text": "李先生，您好"}),
    ]

    outcomes = sender(fake_wecom).send(batch)

    assert len(fake_wecom.state.calls_to("add_msg_template")) == 2
    assert len({o.provider_id for o in outcomes}) == 2


def test_attachments_image_link_and_miniprogram(fake_wecom, tmp_path):
    image = tmp_path / "poster.png"
    image.write_bytes(b"\x89PNG fake poster")
    fake_wecom.state.add_contact("wm-a", "A", "lily")
    content = {
        "text": "新品到店",
        "image": {"path": str(image)},
        "link": {"title": "新品", "url": "https://brand.example/new", "desc": "看看"},
        "miniprogram": {
            "title": "小程序商城",
            "appid": "wx-mini",
            "page": "/pages/index",
            "pic": {"path": str(image)},
        },
    }
    ours = sender(fake_wecom)

    first = ours.send([outgoing(1, "wm-a", "lily", content)])
    second = ours.send([outgoing(2, "wm-a", "lily", content | {"text": "再看看"})])

    assert first[0].status == second[0].status == "pending"
    uploads = fake_wecom.state.calls_to("media/upload")
    assert len(uploads) == 1  # the same image is uploaded once
    assert uploads[0].query["type"] == "image"
    (media_id,) = fake_wecom.state.media
    body = fake_wecom.state.calls_to("add_msg_template")[0].body
    assert body["attachments"] == [
        {"msgtype": "image", "image": {"media_id": media_id}},
        {
            "msgtype": "link",
            "link": {"title": "新品", "url": "https://brand.example/new", "desc": "看看"},
        },
        {
            "msgtype": "miniprogram",
            "miniprogram": {
                "title": "小程序商城",
                "appid": "wx-mini",
                "page": "/pages/index",
                "pic_media_id": media_id,
            },
        },
    ]

    # The next dispatch run makes a new sender: the image is not uploaded again, unless changed.
    sender(fake_wecom).send([outgoing(3, "wm-a", "lily", content | {"text": "第三条"})])
    assert len(fake_wecom.state.calls_to("media/upload")) == 1
    image.write_bytes(b"\x89PNG a new poster, longer")
    sender(fake_wecom).send([outgoing(4, "wm-a", "lily", content | {"text": "第四条"})])
    assert len(fake_wecom.state.calls_to("media/upload")) == 2


def test_customer_groups_and_a_one_to_one_message_take_the_same_path(fake_wecom):
    fake_wecom.state.groups["wr-club"] = {"chat_id": "wr-club", "owner": "lily"}
    fake_wecom.state.add_contact("wm-a", "A", "mei")
    batch = [
        outgoing(1, "wr-club", "lily", {"text": "群里的各位好", "chat_type": "group"}),
        outgoing(2, "wm-a", "mei", {"text": "您好，您的新品试用装到了"}),
    ]

    outcomes = sender(fake_wecom).send(batch)

    group, single = fake_wecom.state.calls_to("add_msg_template")
    assert group.body["chat_type"] == "group" and group.body["chat_id_list"] == ["wr-club"]
    assert "chat_type" not in group.body["text"]
    assert single.body["external_userid"] == ["wm-a"] and single.body["sender"] == "mei"
    assert [o.status for o in outcomes] == ["pending", "pending"]


def test_a_customer_who_is_not_the_guides_is_failed(fake_wecom):
    fake_wecom.state.add_contact("wm-a", "A", "lily")
    batch = [outgoing(1, "wm-a", "lily"), outgoing(2, "wm-gone", "lily"), outgoing(3, "x", "")]

    outcomes = {o.delivery_id: o for o in sender(fake_wecom).send(batch)}

    assert outcomes[1].status == "pending"
    assert (outcomes[2].status, outcomes[2].error) == ("failed", "invalid_recipient")
    assert (outcomes[3].status, outcomes[3].error) == ("failed", "no_guide")


def test_more_customers_than_one_call_takes_are_split(fake_wecom, monkeypatch):
    monkeypatch.setattr(wecom, "MAX_TARGETS", 2)
    batch = [outgoing(n, f"wm-{n}", "lily") for n in range(1, 6)]
    for o in batch:
        fake_wecom.state.add_contact(o.address, "A", "lily")

    sender(fake_wecom).send(batch)

    sizes = [len(c.body["external_userid"]) for c in fake_wecom.state.calls_to("add_msg_template")]
    assert sizes == [2, 2, 1]


def test_a_crash_after_the_call_is_reconciled_without_a_second_template(fake_wecom):
    batch = three_guides(fake_wecom)
    sent = {o.delivery_id: o.provider_id for o in sender(fake_wecom).send(batch)}
    # The process dies before the outcomes are committed: a new worker finds `sending` rows.

    found = sender(fake_wecom).reconcile(batch)

    assert {o.delivery_id: o.provider_id for o in found if o} == sent
    assert {o.status for o in found if o} == {"pending"}
    assert len(fake_wecom.state.calls_to("add_msg_template")) == 3


def test_reconcile_tells_a_template_never_made_can_be_sent(fake_wecom):
    batch = three_guides(fake_wecom)
    sender(fake_wecom).send(batch[:2])  # lily's made; mei's and wang's never were

    found = {o.delivery_id: o for o in sender(fake_wecom).reconcile(batch) if o}

    assert found[1].status == found[2].status == "pending"
    assert (found[11].status, found[11].error, found[11].retry) == ("failed", "not_created", True)


def test_reconcile_does_not_take_another_guides_template_with_the_same_text(fake_wecom):
    batch = three_guides(fake_wecom)
    sender(fake_wecom).send(batch[2:4])  # mei's

    found = {o.delivery_id: o for o in sender(fake_wecom).reconcile(batch[:2]) if o}

    assert found[1].error == found[2].error == "not_created"


def test_an_expired_token_is_fetched_again_once(fake_wecom):
    batch = three_guides(fake_wecom)[:2]
    ours = sender(fake_wecom)
    ours.send(batch)
    fake_wecom.state.tokens.clear()  # WeCom forgot the token (expired, or another process)

    outcomes = ours.send([outgoing(7, "wm-lily-0", "lily", {"text": "第二条"})])

    assert outcomes[0].status == "pending"
    token_calls = [c for c in fake_wecom.state.calls if c.path.endswith("gettoken")]
    assert len(token_calls) == 2


def test_the_call_limit_answers_a_retry(fake_wecom):
    batch = three_guides(fake_wecom)[:2]
    fake_wecom.state.fail_next["externalcontact/add_msg_template"] = [45009]

    outcomes = sender(fake_wecom).send(batch)

    assert {(o.status, o.retry) for o in outcomes} == {("failed", True)}
    assert outcomes[0].error.startswith("rate_limited")


@pytest.mark.parametrize("code", [40058, 41048])
def test_a_refusal_is_a_failure_not_retried(fake_wecom, code):
    batch = three_guides(fake_wecom)[:2]
    fake_wecom.state.fail_next["externalcontact/add_msg_template"] = [code]

    outcomes = sender(fake_wecom).send(batch)

    assert {(o.status, o.retry) for o in outcomes} == {("failed", False)}
    assert f"WeCom {code}" in outcomes[0].error


def test_a_lost_answer_is_looked_up_before_it_is_retried(fake_wecom, monkeypatch):
    batch = three_guides(fake_wecom)[:2]
    ours = sender(fake_wecom)
    real = ours.client.external_contact.add_msg_template

    def made_then_lost(body):
        real(body)  # WeCom made it, the answer never came back
        from wechatpy.exceptions import WeChatClientException

        raise WeChatClientException(None, "connection reset")

    monkeypatch.setattr(ours.client.external_contact, "add_msg_template", made_then_lost)

    outcomes = ours.send(batch)

    assert {o.status for o in outcomes} == {"pending"}
    (msgid,) = fake_wecom.state.group_msgs
    assert {o.provider_id for o in outcomes} == {msgid}
