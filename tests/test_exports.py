"""The public surface: `__all__` lists exactly the public names, shown as `wegly_async.X`."""

from __future__ import annotations

import types

import wegly_async as wa


def test_all_lists_exactly_the_public_names() -> None:
    # pytest's assertion rewriting adds "@py_*" names to plugin packages like this one.
    names = {name for name in dir(wa) if name.isidentifier() and not name.startswith("_")}
    # Submodules (testing, export, cli, resources) appear once imported; they are not exports.
    public = {name for name in names if not isinstance(getattr(wa, name), types.ModuleType)}
    assert set(wa.__all__) == public | {"__version__"}
    assert len(wa.__all__) == len(set(wa.__all__))


def test_every_exported_name_exists() -> None:
    for name in wa.__all__:
        assert getattr(wa, name) is not None, name


def test_public_classes_are_shown_under_the_package_name() -> None:
    assert repr(wa.MessageType.TEXT) == "<MessageType.TEXT: 'text'>"
    assert wa.WeglyClient.__module__ == "wegly_async"
    assert wa.NotFoundError.__module__ == "wegly_async"
    assert wa.SendTimeoutError.__module__ == "wegly_async"


def test_version_is_a_string() -> None:
    assert isinstance(wa.__version__, str)
    assert wa.__version__[0].isdigit()


def test_the_chat_route_models_and_enums_are_exported() -> None:
    chat_names = {
        "AssignedAgent",
        "Button",
        "CancelReason",
        "Chat",
        "ChatStatus",
        "ChatType",
        "ListRow",
        "ListSection",
        "MessageKind",
        "PhoneNumber",
        "Role",
        "ScheduledMessage",
        "ScheduledMessageStatus",
        "UnreadSummary",
    }
    assert chat_names <= set(wa.__all__)
    assert wa.Chat.__module__ == "wegly_async.types.chats"
    assert issubclass(wa.ChatStatus, wa.OpenStrEnum)


def test_the_crm_models_and_inputs_are_exported() -> None:
    crm_names = {
        "Deal",
        "DealParticipant",
        "Follower",
        "FollowerParam",
        "LeadSource",
        "LeadSourceParam",
        "LossReason",
        "MarketingCreative",
        "MarketingLeadSource",
        "MarketingParam",
        "NoteParam",
        "OrganizationParam",
        "PersonContactParam",
        "PersonParam",
        "Pipeline",
        "Proposal",
        "ProposalItem",
        "RecordRef",
        "Stage",
    }
    assert crm_names <= set(wa.__all__)
    assert wa.Deal.__module__ == "wegly_async.types.deals"
    assert wa.ProposalItem.__module__ == "wegly_async.types.proposals"
    assert wa.RecordRef.__module__ == "wegly_async.types.shared"
