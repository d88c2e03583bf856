"""The EC2 calls the sandbox's CloudTrail records: ``StartInstances`` and ``StopInstances``.

Recorded as CloudTrail does (source ``ec2.amazonaws.com``, the instances in
``requestParameters.instancesSet.items``, and in event history's ``Resources`` as
``AWS::EC2::Instance``), so a restarted instance shows when it was started again. The calls are
signed query-protocol requests; their answers are EC2's XML.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from grader.sandbox.cloudtrail_identity import signed_credential
from grader.sandbox.cloudtrail_records import CallContext, new_record
from grader.sandbox.wsgi import header_value, read_body, status_code

EC2_SOURCE = "ec2.amazonaws.com"
EC2_INSTANCE = "AWS::EC2::Instance"
# EC2 calls recorded (the instance state changes a lab session makes).
EC2_ACTIONS = frozenset({"StartInstances", "StopInstances"})
_INSTANCE_ID_PARAM = re.compile(r"^InstanceId\.(\d+)$")


def ec2_call_record(
    now: datetime,
    environ: Mapping[str, Any],
    action: str,
    instance_ids: list[str],
    context: CallContext,
    status: str,
    headers: list[tuple[str, str]],
    payload: bytes,
) -> tuple[dict[str, Any], tuple[tuple[str, str], ...]]:
    """The record (not yet finished) of a StartInstances/StopInstances call, and its event-history resources."""
    record = new_record(now, environ, context, EC2_SOURCE, action)
    code = status_code(status)
    response_elements = None
    if code >= 400:
        record["errorCode"], record["errorMessage"] = ec2_error(payload, code)
    else:
        response_elements = {
            "requestId": header_value(headers, "x-amzn-requestid")
            or xml_text(payload, "requestId")
            or str(uuid.uuid4()),
            "instancesSet": {"items": instance_changes(payload)},
        }
    record["requestParameters"] = {"instancesSet": {"items": [{"instanceId": i} for i in instance_ids]}}
    if action == "StopInstances":
        record["requestParameters"]["force"] = False
    record["responseElements"] = response_elements
    return record, tuple((EC2_INSTANCE, i) for i in instance_ids)


def ec2_action(environ: dict[str, Any]) -> str | None:
    """The Action of a signed EC2 query-protocol call (its body is put back for the next layer)."""
    signed = signed_credential(environ)
    if signed is None or signed.service != "ec2":
        return None
    if "x-www-form-urlencoded" not in str(environ.get("CONTENT_TYPE", "")):
        return None
    body = read_body(environ)
    return parse_qs(body.decode("utf-8", "replace")).get("Action", [None])[0]


def requested_instance_ids(body: bytes) -> list[str]:
    """InstanceId.1, InstanceId.2, ... of an EC2 query-protocol body, in their order."""
    found = []
    for name, values in parse_qs(body.decode("utf-8", "replace")).items():
        match = _INSTANCE_ID_PARAM.match(name)
        if match and values:
            found.append((int(match.group(1)), values[0]))
    return [value for _, value in sorted(found)]


def _xml_root(payload: bytes) -> Any:
    try:
        root = ElementTree.fromstring(payload)
    except ElementTree.ParseError:
        return None
    for element in root.iter():  # drop the EC2 namespace: element names are what matters
        element.tag = element.tag.rsplit("}", 1)[-1]
    return root


def xml_text(payload: bytes, tag: str) -> str:
    root = _xml_root(payload)
    found = root.find(f".//{tag}") if root is not None else None
    return (found.text or "").strip() if found is not None else ""


def instance_changes(payload: bytes) -> list[dict[str, Any]]:
    """The instancesSet items of a StartInstances/StopInstances answer, as CloudTrail shows them."""
    root = _xml_root(payload)
    if root is None:
        return []
    items = []
    for item in root.findall(".//instancesSet/item"):
        entry: dict[str, Any] = {"instanceId": (item.findtext("instanceId") or "").strip()}
        for name in ("currentState", "previousState"):
            state = item.find(name)
            if state is not None:
                code = (state.findtext("code") or "").strip()
                entry[name] = {
                    "code": int(code) if code.isdigit() else code,
                    "name": (state.findtext("name") or "").strip(),
                }
        items.append(entry)
    return items


def ec2_error(payload: bytes, status: int) -> tuple[str, str]:
    code = xml_text(payload, "Code") or ("InternalFailure" if status >= 500 else "BadRequest")
    return code, xml_text(payload, "Message")
