from services.web.domain.result_form import field_of, problems_from_refusal, submission_from_form

FORM = {
    "check_date": "2026-12-02",
    "method": "on_site",
    "items-0-category": "1",
    "items-0-q-Q1": "yes",
    "items-0-q-Q2": "no",
    "items-0-note-Q2": "年报未公示",
    "items-1-category": "2",
    "items-1-problems": "未按规定公示",
    "items-1-rooted": "on",
    "rectify_by": "2026-12-31",
    "rectification": "补报年报",
    "rep_name": "周经理",
    "rep_confirmed": "on",
    "idempotency_key": "m-abc",
}


def _submit(form: dict[str, str]) -> tuple[dict, object]:
    return submission_from_form(
        form,
        task_id="T-1",
        item_codes=["SCJG-001", "SCJG-002"],
        checklists={"SCJG-001": ["Q1", "Q2"], "SCJG-002": []},
        attachments=[
            {"name": "a.jpg", "sha256": "0" * 64, "size": 3, "content_type": "image/jpeg"}
        ],
        confirmed_at="2026-12-02T10:00:00+08:00",
    )


def test_a_filled_form_becomes_the_submission() -> None:
    body, problems = _submit(FORM)
    assert not problems
    assert body["items"][0]["answers"] == [
        {"question_id": "Q1", "answer": "yes", "note": ""},
        {"question_id": "Q2", "answer": "no", "note": "年报未公示"},
    ]
    assert body["items"][1]["rooted_at_approval"] is True
    assert body["follow_up"] == {
        "rectify_by": "2026-12-31",
        "rectification": "补报年报",
        "refer": False,
    }
    assert body["representative"]["name"] == "周经理"
    assert body["idempotency_key"] == "m-abc" and body["confirmations"] == []
    assert "corrects_version" not in body


def test_unanswered_questions_and_an_unconfirmed_representative_are_named() -> None:
    form = {
        k: v
        for k, v in FORM.items()
        if k not in ("items-0-q-Q1", "rep_confirmed", "items-1-category")
    }
    _, problems = _submit(form)
    assert set(problems.by_field) == {"items-0-q-Q1", "rep_confirmed", "items-1-category"}


def test_refusals_go_back_to_their_fields() -> None:
    assert field_of(["items", 1, "category"]) == "items-1-category"
    assert field_of(["body", "items", 0, "answers", 2, "answer"]) == "items-0-answers"
    assert field_of(["follow_up", "rectify_by"]) == "rectify_by"
    assert field_of(["follow_up", "refer"]) == "refer"
    assert field_of(["representative", "name"]) == "rep_name"
    assert field_of(["check_date"]) == "check_date"
    assert field_of(["attachments", 0, "sha256"]) == "photos"
    assert field_of(["submitted_by"]) is None
    problems = problems_from_refusal(
        [
            {"loc": ["items", 0, "category"], "msg": "unknown", "msg_zh": "检查结果类别不在清单内"},
            {
                "loc": ["body", "check_date"],
                "msg": "Input should be a valid date",
                "type": "date_from_datetime_parsing",
            },
            {"loc": ["submitted_by"], "msg": "not on the team", "msg_zh": "您不是该任务的检查人员"},
        ]
    )
    assert problems.by_field == {
        "items-0-category": ["检查结果类别不在清单内"],
        "check_date": ["请填写正确的日期"],
    }
    assert problems.general == ["您不是该任务的检查人员"]


def test_only_the_chosen_methods_record_is_sent() -> None:
    typed = {"place": " 店内 ", "documents": "营业执照\n\n 进货台账 ", "url": "https://a.cn"}
    sent = {
        "on_site": {"place": "店内"},
        "documents": {"documents": ["营业执照", "进货台账"]},
        "online": {"url": "https://a.cn", "platform": ""},
        "commissioned": {},
    }
    for method, record in sent.items():
        body, _ = _submit({**FORM, **typed, "method": method})
        assert body["method_record"] == record, method


def test_a_missing_record_is_shown_at_its_field() -> None:
    assert field_of(["method_record", "place"]) == "place"
    assert field_of(["method_record", "documents", 0]) == "documents"
    assert field_of(["method_record", "platform"]) == "url"
    problems = problems_from_refusal(
        [
            {"loc": ["attachments"], "type": "method_capture_missing", "msg_zh": "须附截图"},
            {"loc": ["attachments"], "type": "method_report_missing", "msg_zh": "须附报告"},
        ]
    )
    assert problems.by_field == {"photos": ["须附截图"], "report": ["须附报告"]}
