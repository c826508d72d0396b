"""Output items, content parts and delta families of a Responses stream (docs/protocols.md §A.3 rules 4-10, D5-D10).

The part of the state machine below the response envelope. It keeps only what the rules need: the open items
and, for each, the joined text of its open parts (a list of pieces, joined once at `.done`); a closed part
leaves its final value for the item snapshot check, a done item leaves its snapshot for the terminal check.
It also fills the output side of the Assembly (text, reasoning, refusal, tool calls).

A resumed stream (`starting_after`) may begin inside an item, a part or a value (docs/protocols.md §D Responses rule
2): there, an item, part or summary part that this stream never saw opened is adopted on first mention, as opened
before the resume, if its index lies below the first one this stream opened at that level (the frontier). What
came before is unknown, so adopted values are checked only as far as they were seen: a `.done` must end with the
deltas streamed after the resume. A fresh stream has every frontier at 0, so nothing is ever adopted on it.

This module holds both the per-item checks and the assembly the viewer uses (the output side of the Assembly).
"""

from __future__ import annotations

from typing import Any

from pydantic_core import ValidationError

from ...findings import Finding
from ..base import ARGUMENTS_HARM, Assembly, FirstTime, Fragments, Output, ToolCall, arguments_problem, left_open
from ..schema import summary
from .models import PART_MODELS, item_model
from .required import missing_in_item, missing_in_part
from .rules import (
    ANNOTATION_INDEX,
    CONTENT_INDEX,
    DELTA_AFTER_DONE,
    DELTA_MISMATCH,
    DONE_EVENT_MISSING,
    DONE_WITHOUT_DELTA,
    EVENT_KIND,
    ITEM_DONE_MISSING,
    ITEM_ID_MISMATCH,
    ITEM_NOT_OPEN,
    MCP_DONE_MISSING,
    OUTPUT_INDEX_ORDER,
    PART_DONE_MISSING,
    PART_NOT_OPEN,
    SCHEMA,
    SNAPSHOT_MISMATCH,
    SUMMARY_ORDER,
    TERMINAL_OUTPUT,
    TOOL_ARGUMENTS,
    UNCHECKED,
)
from .state import (
    ABSENT,
    CALL_ID_ITEMS,
    DELTA_FAMILIES,
    DONE_FAMILIES,
    FAMILIES,
    IDENTITY_FIELDS,
    MESSAGE,
    PART_TYPES,
    PROGRESS_ITEM_TYPES,
    REASONING,
    TOOL_CALL_ITEMS,
    UNKNOWN,
    VALUE_FAMILIES,
    Family,
    Join,
    OpenItem,
    OpenPart,
    dig,
    excerpt,
    excerpts,
    first_difference,
    gap,
    names,
    stable,
    tool_arguments,
    tool_name,
)

SDK_PART_EVENTS = frozenset({"response.output_text.delta", "response.output_text.done"})
"""The events the openai SDK's stream helper applies to a content part, by index (others it passes on as they are)."""
SDK_ITEM_EVENTS = SDK_PART_EVENTS | {"response.content_part.added", "response.function_call_arguments.delta"}
"""The events the openai Python SDK's stream helper applies to an item, looked up as `output[output_index]` (others,
`output_item.done` too, it passes on as they are)."""
_SDK_WANTS = {"response.function_call_arguments.delta": "function_call"}
"""The item type the SDK's stream helper asserts an event's item has, where not a message (a part's start it drops
from any other item instead)."""
CLIENT_CALLS = frozenset({"function_call", "custom_tool_call"})
"""Items the app runs (the API runs built-in and MCP tools itself): what `parallel_tool_calls: false` limits to one."""
JSON_ARGUMENT_ITEMS = frozenset({"function_call", "mcp_call"})
"""Items whose `arguments` are the JSON object a tool runs with (a `custom_tool_call`'s `input` is free text)."""


class OutputState:
    """Items, parts and delta families; one per stream, driven by the Checker with validated events."""

    def __init__(self, assembly: Assembly) -> None:
        self.assembly = assembly
        self.output: Output = assembly.output(0)
        self.buckets: dict[str | None, Fragments] = {
            "text": Fragments(self.output.text_parts), "reasoning": Fragments(self.output.reasoning_parts),
            "refusal": Fragments(self.output.refusal_parts),
        }
        self.found: list[Finding] = []
        self.open: dict[int, OpenItem] = {}
        self.next_index = 0
        self.item_ids: dict[int, str | None] = {}
        self.done_items: dict[int, dict[str, Any]] = {}
        self.done_at: dict[int, int] = {}
        self.shadows: dict[str, OpenItem] = {}
        """Items added at an `output_index` whose item was still open (a reuse, reported there), by id: the events
        that name one by its `item_id` reach it, not the first item at that index."""
        self.added_ids: dict[str, tuple[int, int]] = {}
        """The `output_item.added` event and `output_index` of each item id."""
        self.added_without_id = 0
        self.could_add = 0
        """Events that may have added an item that could not be read: unreadable ones, and `output_item.added` events
        that broke their schema. The final output may list that many more items than were seen added."""
        self.saw_unknown = False
        """An event of unknown content came: it may have been an item's `output_item.done`."""
        self.done_by_id: dict[str, dict[str, Any]] = {}
        self.done_only: set[str] = set()
        """Ids of items that came only in their `output_item.done` (said there): judged as they came."""
        self.sdk_raised_at: int | None = None
        """The first event the Python SDK's stream helper raises at, where one is known: it reads nothing after it."""
        self.sdk_output_broken = False
        """The first event's `response.output` is no list: the SDK's stream helper raises at the first item added."""
        self.sdk_order: list[tuple[Any, Any]] = []
        """(id, type) of each item as the openai SDK's stream helper lists them: every `output_item.added`, in the
        order they came, whatever their `output_index` (it looks events up by `output_index` in this list)."""
        self.misplaced = False
        """An `output_item.added` broke the index order (a gap or a reuse): from there the indexes no longer say
        which item is which, and the final output is held to the items by id."""
        self.once = FirstTime()
        self.resumed = False
        self.frontier = 0
        """Output indexes below it that this stream never saw are taken as opened before a resume."""
        self.maybe_added: int | None = None
        """The output index an unreadable event may have added (None: no unreadable event since the last add)."""
        self.ghosts: set[int] = set()
        """Output indexes whose `output_item.added` may have been an unreadable event: their ids are unknown."""
        self._alone: OpenItem | None = None
        """The item that opened while no other was open, until another opens (`_join_the_open`)."""
        self.calls: list[tuple[int, Any]] = []
        """(event, name) of each function call the stream added, for the app to run (`CLIENT_CALLS`)."""
        self.all_unknown = False
        """`unknown` has marked every open item and nothing was read since (the Checker clears it on every readable
        event): another unreadable event has nothing to add. A hostile stream of thousands of open items and
        unreadable events made each of them rescan every item (quadratic)."""

    def resume(self) -> None:
        """The stream is a `starting_after` resume: items opened before its first event are adopted when named."""
        self.resumed = True
        self.frontier = UNKNOWN


    def unknown(self, index: int) -> None:
        """An event of unknown content (unreadable or schema-broken): it may have added the next item or part, or
        closed or streamed into any open one. Whatever it may have done is not held against the stream."""
        self.maybe_added = self.next_index
        self.saw_unknown = True
        if self.all_unknown:
            return
        self.all_unknown = True
        for item in (*self.open.values(), *self.shadows.values()):
            item.uncertain = True
            item.maybe_part, item.maybe_summary = item.next_content, item.next_summary
            for part in (*item.parts.values(), *item.summaries.values()):
                part.uncertain, part.annotations = True, None
                gap(part.join)
            for join in (*item.joins.values(), *item.commands.values()):
                gap(join)

    def _ghost(self, position: int, item_id: str | None, item_type: str | None) -> OpenItem:
        """The item an unreadable event may have added, named for the first time."""
        self.maybe_added = None
        self.ghosts.add(position)
        item = self._adopt(position, item_id, item_type)
        item.uncertain = True
        return item

    # ---- items -------------------------------------------------------------------------------------------

    def item_added(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        position, snapshot = ev["output_index"], ev["item"]
        item_type = self._item_type(index, kind, snapshot)
        if self.frontier == UNKNOWN:  # the first item a resumed stream opens: its index may be any not yet seen
            self.next_index = max(self.next_index, position)
            self.frontier = max(position, 0)
        if self.maybe_added is not None and position == self.maybe_added + 1 == self.next_index + 1:
            self._ghost(self.maybe_added, None, None)  # the unreadable event added the item before this one
        self.maybe_added = None
        listed = len(self.sdk_order)
        self.sdk_order.append((snapshot.get("id"), item_type))
        if item_type in CLIENT_CALLS:
            self.calls.append((index, snapshot.get("name")))
        if position != self.next_index or position in self.item_ids:
            self.misplaced = True
            again = " again" if position in self.item_ids else ""
            sdk = (f"the openai Python SDK's stream helper, which keeps items in the order they came, has it at "
                   f"`output[{listed}]` all the same" if position == listed else
                   f"the openai Python SDK's stream helper keeps items in the order they came, so this is its "
                   f"`output[{listed}]`: from here its `output[i]` is not always the item the stream numbers i, and "
                   "text and arguments events that reach another item or none make it raise (`AssertionError`, "
                   "`IndexError`) or go to that item")
            self.found.append(OUTPUT_INDEX_ORDER(index, (
                f"`output_item.added` opened `output_index` {position}{again}, expected {self.next_index}: clients "
                f"that place items by `output_index` misplace it; {sdk}")))
        item_id = snapshot.get("id")
        shadowed = position in self.open  # a second item at an open index: its events are told apart by `item_id`
        if shadowed and (type(item_id) is not str or item_id == self.open[position].id or item_id in self.shadows):
            return  # the same item added again
        item = OpenItem(position, item_id, item_type, snapshot)
        if item_type == "reasoning":
            item.reasoning_before = self._reasoning_chars()
        self._join_the_open(item)
        if shadowed:
            self.shadows[item_id] = item
        else:
            self.open[position] = item
            self.item_ids[position] = item.id
        self._note_added(index, item)
        self.next_index = max(self.next_index, position + 1)
        self._tool_call(item, item_type, snapshot)

    def _note_added(self, index: int, item: OpenItem) -> None:
        """Counts the item, and reports an id that an item at another index had: clients key items by id (the same
        index and id again is that item added again, `output-index-out-of-order`'s)."""
        if type(item.id) is not str:
            self.added_without_id += 1
            return
        earlier = self.added_ids.get(item.id)
        if earlier is not None and earlier[1] != item.index and self.once("id-reused", item.id):
            self.misplaced = True
            self.found.append(ITEM_ID_MISMATCH(index, (
                f"`output_item.added` at `output_index` {item.index} gives an item the id `{item.id}`, which the "
                f"item added at `output_index` {earlier[1]} (event {earlier[0]}) has: a client that keys items by id "
                "merges the two")))
        self.added_ids[item.id] = (index, item.index)

    def _join_the_open(self, item: OpenItem) -> None:
        """`item` opens: it and the open ones are concurrent if there are any. Only the item that opened alone can
        still be marked as not: the others were marked when it or another joined them (no scan of them all at each
        item, quadratic on a hostile stream that opens thousands)."""
        if not self.open and not self.shadows:
            self._alone = item
            return
        item.concurrent = True
        if self._alone is not None and self.open.get(self._alone.index) is self._alone:
            self._alone.concurrent = True
        self._alone = None

    def _tool_call(self, item: OpenItem, item_type: str, snapshot: dict[str, Any]) -> None:
        tool = TOOL_CALL_ITEMS.get(item_type)
        if tool is not None:
            call_id = snapshot.get(tool[0])
            item.tool_call = ToolCall(call_id if isinstance(call_id, str) else None, tool_name(item_type, snapshot),
                                      "", item_type)
            self.output.tool_calls.append(item.tool_call)

    def _adopt(self, position: int, item_id: str | None, item_type: str | None) -> OpenItem:
        """An item opened before the resume, named for the first time: open it as it is now known."""
        item = OpenItem(position, item_id, item_type, {}, adopted=True, content_frontier=UNKNOWN,
                        summary_frontier=UNKNOWN)
        self._join_the_open(item)
        self.open[position] = item
        self.item_ids[position] = item_id
        self.next_index = max(self.next_index, position + 1)
        return item

    def item_done(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        position, snapshot = ev["output_index"], ev["item"]
        self._item_type(index, kind, snapshot)
        item = self._shadow(position, snapshot.get("id"), pop=True) or self.open.get(position)
        if item is None or item.id != snapshot.get("id"):
            moved = self._open_elsewhere(position, snapshot.get("id"))
            if moved is not None:
                if self.once("moved", moved.id):
                    self.found.append(self._misplaced(index, "response.output_item.done", position, item, moved))
                item = self._shadow(moved.index, moved.id, pop=True) or moved
        if item is not None and self.open.get(item.index) is item:
            del self.open[item.index]
        if item is None and position == self.maybe_added and position not in self.item_ids:
            item = self._ghost(position, snapshot.get("id"), None)
            del self.open[position]
        if item is None:
            if not 0 <= position < self.frontier or position in self.item_ids:
                self.found.append(ITEM_NOT_OPEN(index, self._not_open(index, position, "response.output_item.done")))
                if not self._done_only(position, snapshot):
                    return
            item = self._adopt(position, snapshot.get("id"), None)
            del self.open[position]
        done_id = snapshot.get("id")
        if item.adopted:
            self._adopted_done(index, item, snapshot)
        if done_id != item.id:
            self.found.append(ITEM_ID_MISMATCH(index, (
                f"`output_item.done` for `output_index` {position} carries id `{done_id}`, but the item was added "
                f"as `{item.id}`: a client that matches items by id sees an item it never opened")))
        item_type = item.snapshot.get("type")
        call_id = ("call_id",) if isinstance(item_type, str) and item_type in CALL_ID_ITEMS else ()
        for name in (*IDENTITY_FIELDS, *call_id):
            added, done = item.snapshot.get(name), snapshot.get(name)
            if added is not None and done != added:
                self.found.append(SNAPSHOT_MISMATCH(index, (
                    f"`output_item.done` for `output_index` {position} has `item.{name}` {excerpt(done)}, but the "
                    f"item was added with {excerpt(added)}: the client built the wrong item, or calls the wrong "
                    "tool")))
        for label, closer, still_open in (("content part", "content_part.done", item.parts),
                                          ("summary part", "reasoning_summary_part.done", item.summaries)):
            for number in (number for number, part in still_open.items() if not part.uncertain):
                self.found.append(PART_DONE_MISSING(index, (
                    f"`output_item.done` for `output_index` {position} while its {label} {number} is still open "
                    f"(no `{closer}`): the part's final value never came")))
        for name, join in item.joins.items():
            if join.final is None and not join.gapped:
                self._done_missing(index, kind, name, position, None)
        for number, join in item.commands.items():
            if join.final is None and not join.gapped:
                self._done_missing(index, kind, "response.shell_call_command", position, number)
        self._check_item_snapshot(index, item, snapshot)
        self._check_arguments(index, f"`output_item.done` for `{snapshot.get('type')}` `output_index` {position} has "
                                     "`item.arguments`", snapshot, _streamed_arguments(item))
        self._settle_tool_call(item, snapshot)
        self._reasoning_from_done(item, snapshot)
        if item.tool_call is not None and not item.joins and item.tool_call.arguments:
            self.assembly.saw_content(index)  # a tool call that arrives whole (`local_shell_call`, ...)
        if type(done_id) is str:
            self.done_by_id[done_id] = snapshot
        if not self.misplaced or item.index not in self.done_items:
            self.done_items[item.index] = snapshot
            self.done_at[item.index] = index

    def _reasoning_from_done(self, item: OpenItem, snapshot: dict[str, Any]) -> None:
        """A reasoning item no summary or reasoning part of which streamed readably (LiteLLM's bridge sends its
        summary deltas without `summary_index`, each a schema break): its text as its done event holds it, so the
        view and `diff` show the reasoning the stream carried rather than none."""
        if item.reasoning_before is None or self._reasoning_chars() != item.reasoning_before:
            return  # NOTE: not added as reasoning, or some of it streamed: that is what is shown
        for field in ("summary", "content"):
            parts = snapshot.get(field)
            if type(parts) is not list:
                continue
            text = "".join(part["text"] for part in parts if type(part) is dict and type(part.get("text")) is str)
            if text:
                self._emit("reasoning", text)
                return

    def _reasoning_chars(self) -> int:
        return sum(map(len, self.output.reasoning_parts))

    def _open_elsewhere(self, position: int, item_id: Any) -> OpenItem | None:
        """The open item `item_id` names when it was added at another `output_index` than `position`."""
        added = self.added_ids.get(item_id) if type(item_id) is str else None
        if added is None or added[1] == position:
            return None
        item = self._shadow(added[1], item_id) or self.open.get(added[1])
        return item if item is not None and item.id == item_id else None

    def _misplaced(self, index: int, kind: str, position: int, there: OpenItem | None, item: OpenItem) -> Finding:
        """An event whose `item_id` names an open item added at another `output_index` than the one it names (once
        per item: its later events go to it, as they do in a client that routes by `item_id`)."""
        rule, at = (ITEM_NOT_OPEN, "where no item is open") if there is None else (
            ITEM_ID_MISMATCH, f"where item `{there.id}` is open")
        sdk = (self._sdk_reaches(index, kind, position, item.id) if kind in SDK_ITEM_EVENTS else
               "the Python SDK's stream helper passes it on without looking it up")
        return rule(index, (
            f"`{kind}` names `output_index` {position} ({at}), but its item `{item.id}` was added at `output_index` "
            f"{item.index}: a client that routes events by `item_id` finds the item, one that goes by `output_index` "
            f"does not; {sdk}"))

    def _shadow(self, position: int, item_id: Any, pop: bool = False) -> OpenItem | None:
        """The item added under `item_id` at this reused index, if there is one."""
        shadow = self.shadows.get(item_id) if self.shadows and type(item_id) is str else None
        if shadow is None or shadow.index != position:
            return None
        if pop:
            del self.shadows[item_id]
        return shadow

    def _done_only(self, position: int, snapshot: dict[str, Any]) -> bool:
        """Whether an `output_item.done` that no `output_item.added` opened brings a new item, at an index no item had
        (gpt-oss's reference server sends its function calls so). The Python SDK passes the event on and the final
        response holds the item, which the app gets: it is judged as it came (its arguments, its place in the final
        output), once said not opened."""
        done_id = snapshot.get("id")
        if position < 0 or position in self.item_ids or type(done_id) is not str or done_id in self.added_ids:
            return False
        self.done_only.add(done_id)
        return True

    def _adopted_done(self, index: int, item: OpenItem, snapshot: dict[str, Any]) -> None:
        """`output_item.done` of an adopted item: what it shows of the item becomes known (id, type, tool call)."""
        done_id, done_type = snapshot.get("id"), snapshot.get("type")
        if item.id is None and isinstance(done_id, str):
            item.id = self.item_ids[item.index] = done_id
        if item.type is None and isinstance(done_type, str):
            item.type = done_type
        if item.type != done_type and isinstance(done_type, str):
            self.found.append(SNAPSHOT_MISMATCH(index, (
                f"`output_item.done` for `output_index` {item.index} has `item.type` {excerpt(done_type)}, but the "
                f"events after the resume were those of a `{item.type}` item: the client built the wrong item")))
        elif item.tool_call is None and item.type is not None:
            self._tool_call(item, item.type, snapshot)

    def _check_item_snapshot(self, index: int, item: OpenItem, snapshot: dict[str, Any]) -> None:
        where = f"`output_item.done` (`output_index` {item.index})"
        content = snapshot.get("content")
        for number, (part_type, value) in item.part_values.items():
            entry = content[number] if isinstance(content, list) and number < len(content) else None
            name = PART_TYPES.get(part_type, ((), "text"))[1]
            got = entry.get(name) if isinstance(entry, dict) else None
            if got != value:
                self._snapshot_mismatch(index, f"{where} `item.content[{number}].{name}`", got, value)
            else:
                entry[name] = value  # NOTE: the done item kept for the terminal check shares the text, not a copy
        summary = snapshot.get("summary")
        for number, value in item.summary_values.items():
            entry = summary[number] if isinstance(summary, list) and number < len(summary) else None
            got = entry.get("text") if isinstance(entry, dict) else None
            if got != value:
                self._snapshot_mismatch(index, f"{where} `item.summary[{number}].text`", got, value)
            else:
                entry["text"] = value
        for name, join in item.joins.items():
            if not join.known():
                continue  # adopted after a resume with no `.done`: only its end was seen
            family = FAMILIES[name]
            got = dig(snapshot, family.snapshot)
            value = join.value()
            if got != value:
                path = ".".join(family.snapshot)
                self._snapshot_mismatch(index, f"{where} `item.{path}`", got, value)
            else:
                dig(snapshot, family.snapshot[:-1])[family.snapshot[-1]] = value

    def _check_arguments(self, index: int, where: str, snapshot: dict[str, Any], streamed: str | None = None) -> None:
        """The arguments a client runs: the done item's (what `output_item.done` and the final response hand the
        app). An item the token limit cut (`status: incomplete`) is not judged. `streamed`: what its deltas joined
        to, which a client that builds calls from the deltas runs (langchain-openai 1.8 did, where they parsed)."""
        arguments, kind = snapshot.get("arguments"), snapshot.get("type")
        if type(kind) is not str or kind not in JSON_ARGUMENT_ITEMS or type(arguments) is not str:
            return
        if snapshot.get("status") == "incomplete":
            return
        problem = arguments_problem(arguments)
        if problem is None:
            return
        harm = ARGUMENTS_HARM
        if streamed is not None and streamed != arguments and arguments_problem(streamed) is None:
            harm = ("clients that take the done item's arguments cannot run the call: the openai Python SDK's parse "
                    "helpers (for a strict tool) raise or get no object; a client that builds the call from the deltas "
                    "(LangChain) runs it with what they joined to, which parses (`responses/delta-mismatch` sets the "
                    "two side by side)")
        self.found.append(TOOL_ARGUMENTS(index, f"{where} {excerpt(arguments)}, {problem}: {harm}"))

    def _done_missing(self, index: int, kind: str, value: str, position: int, number: int | None) -> None:
        family = value if value.startswith("response.") else VALUE_FAMILIES.get(value, value)
        where = f"`output_index` {position}" + (f", index {number}" if number is not None else "")
        self.found.append(DONE_EVENT_MISSING(index, (
            f"`{kind}` ({where}) closed a value whose `{family}.done` never came: the docs allow it, but a client "
            "that waits for the `.done` event to finalise the text or arguments never does")))

    def _snapshot_mismatch(self, index: int, where: str, got: Any, streamed: str) -> None:
        shown, gave = excerpts(got, streamed)
        self.found.append(SNAPSHOT_MISMATCH(index, (
            f"{where} is {shown}, but the stream gave {gave}: a client that reads the snapshot and one that joins "
            "the deltas end up with different content")))

    def _settle_tool_call(self, item: OpenItem, snapshot: dict[str, Any] | None) -> None:
        """Tool-call arguments as clients run them: the `.done` value (the SDK's final response and the Vercel AI SDK
        take it), else the done item's, else what was streamed; what was streamed is kept beside it where it
        differs (a client that builds calls from the deltas, LangChain, runs that)."""
        call = item.tool_call
        if call is None:
            return
        join = next(iter(item.joins.values()), None)
        streamed = join.streamed() if join is not None and join.deltas and not join.partial else None
        final = (join.final if join is not None and join.final is not None else
                 tool_arguments(call.kind, snapshot) if snapshot is not None else None)
        call.arguments = final if final is not None else streamed if streamed is not None else call.arguments
        call.streamed = streamed if streamed is not None and streamed != call.arguments else None

    def _item_type(self, index: int, event_type: str, snapshot: dict[str, Any]) -> str:
        kind = snapshot.get("type")
        try:
            item_model(kind)(snapshot)
        except ValidationError as error:
            self._schema(index, event_type, error, "item", missing_in_item(snapshot, "item"))
        return kind if isinstance(kind, str) else "?"

    def _schema(self, index: int, event_type: str, error: ValidationError, prefix: str, sdk_fields: list[str]
                ) -> None:
        """A `responses/schema` finding for an item or part, but for the fields it lacks that the openai SDK types
        as required: those are `responses/sdk-field-missing`'s (the checker's, at this same event), reported once."""
        left_to_sdk = set(sdk_fields)
        problem = summary(error, 1, prefix, fresh=lambda path: path not in left_to_sdk)
        if problem:
            self.found.append(SCHEMA(index, f"`{event_type}`: {problem}: {UNCHECKED}"))

    def _not_open(self, index: int, position: int, kind: str, item_id: Any = None) -> str:
        sdk = (self._sdk_reaches(index, kind, position, item_id) if kind in SDK_ITEM_EVENTS else
               "the openai Python SDK's stream helper passes this event on without looking it up")
        if position in self.done_at:
            return (f"`{kind}` names `output_index` {position}, whose item was already done at event "
                    f"{self.done_at[position]}: a client that has closed that item drops or misplaces this; {sdk}")
        return (f"`{kind}` names `output_index` {position}, which no `output_item.added` opened: a client that keeps "
                f"items by `output_index` has none there; {sdk}")

    def sdk_lookup_fails(self, index: int, kind: str, payload: dict[str, Any]) -> str | None:
        """What the Python SDK's stream helper raises at an event that broke its schema, where it looks the event up as
        `output[output_index]` (the lookup reads no other field): said only where it raises, and while every item
        it listed could be read."""
        position = payload.get("output_index")
        if kind not in SDK_ITEM_EVENTS or type(position) is not int or self.could_add or self.sdk_raised_at is not None:
            return None  # NOTE: a helper that raised already never gets here
        if self._sdk_raises(kind, position) is not None:
            return self._sdk_reaches(index, kind, position, payload.get("item_id"))
        if kind in SDK_PART_EVENTS and not isinstance(payload.get("content_index"), int):
            self.sdk_raised(index)
            return (f"the Python SDK's `responses.stream()` helper finds a message at `output[{position}]` and raises "
                    "`TypeError` looking its content part up by this `content_index`")
        return None

    def sdk_raised(self, index: int) -> None:
        """The Python SDK's stream helper raises at this event, unless it had already."""
        if self.sdk_raised_at is None:
            self.sdk_raised_at = index

    def _sdk_raises(self, kind: str, position: int) -> str | None:
        """The exception the SDK's stream helper raises looking this event up in `sdk_order`, None if it goes on."""
        order = self.sdk_order
        if not -len(order) <= position < len(order):
            return "IndexError"
        if kind != "response.content_part.added" and order[position][1] != _SDK_WANTS.get(kind, "message"):
            return "AssertionError"
        return None

    def _sdk_reaches(self, index: int, kind: str, position: int, item_id: Any) -> str:
        """What the SDK's stream helper does with an event it looks up as `output[output_index]` in its list of the
        items in the order they came (`sdk_order`): tried with `ResponseStreamState` for each outcome."""
        if self.sdk_raised_at is not None and self.sdk_raised_at < index:
            return f"the Python SDK's `responses.stream()` helper had raised already, at event {self.sdk_raised_at}"
        head = (f"the Python SDK's `responses.stream()` helper, which keeps items in the order they came, looks it up "
                f"as `output[{position}]`")
        raised = self._sdk_raises(kind, position)
        if raised is not None:
            self.sdk_raised(index)
        if raised == "IndexError":
            return f"{head} and raises `IndexError`"
        found_id, found_type = self.sdk_order[position]
        mine = item_id is not None and found_id == item_id
        if kind == "response.content_part.added":
            if found_type != "message":
                return f"{head}, a `{found_type}` item, and drops the part"
            return f"{head}: this event's item, which gets the part" if mine else (
                f"{head}: the message `{found_id}`, which gets the part")
        if raised is not None:
            return f"{head}, a `{found_type}` item, and raises `AssertionError`"
        part = "" if kind in _SDK_WANTS else " (`IndexError` if it lacks that content part)"
        if mine:
            return f"{head}: this event's item, which it reaches all the same{part}"
        return f"{head}: `{found_id}`, another item, " + ("which gets it" if kind.endswith(".delta") else
                                                         "which it checks and passes on") + part

    # ---- child events ------------------------------------------------------------------------------------

    def child(self, index: int, kind: str, ev: dict[str, Any],
              item_types: frozenset[str] | None = None) -> OpenItem | None:
        """The open item a child event names, after its `output_index` / `item_id` checks; None if not open.
        The shell command events carry no `item_id`: they do not name their item."""
        position, item_id = ev["output_index"], ev.get("item_id")
        item = self._shadow(position, item_id) or self.open.get(position)
        if item is None or (item_id is not None and item.id != item_id):
            moved = self._open_elsewhere(position, item_id)
            if moved is not None:
                if self.once("moved", item_id):
                    self.found.append(self._misplaced(index, kind, position, item, moved))
                item = moved
        if item is None and position == self.maybe_added and position not in self.item_ids:
            item = self._ghost(position, item_id, _only(item_types))
        if item is None:
            if not 0 <= position < self.frontier or position in self.item_ids:
                if self.once("not-open", kind, position):
                    self.found.append(ITEM_NOT_OPEN(index, self._not_open(index, position, kind, item_id)))
                return None
            item = self._adopt(position, item_id, _only(item_types))
        if item_id is not None and item_id != item.id:
            if item.id is None and item.adopted:
                item.id = self.item_ids[item.index] = item_id
            elif self.once("item-id", kind, position):
                self.found.append(ITEM_ID_MISMATCH(index, (
                    f"`{kind}` has `item_id` `{item_id}`, but the item open at `output_index` {position} "
                    f"is `{item.id}`: a client that routes events by `item_id` loses this one or shows it twice "
                    "(llm 0.36 prints the reasoning once per id), or worse: the Vercel AI SDK emits an error part and "
                    "may throw at a later event of the item, losing the rest of the answer")))
        if item_types and item.type not in item_types:
            if item.type is None:  # adopted after a resume: the first event that tells fixes the type
                item.type = _only(item_types)
                return item
            if self.once("kind", kind, position):
                self.found.append(EVENT_KIND(index, (
                    f"`{kind}` names `output_index` {position}, a `{item.type}` item; it belongs to "
                    f"{names(item_types)} items: the client applies it to an item that has no such field")))
            return None
        return item

    def progress(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        """Built-in tool progress (`web_search_call.searching`, ...): only its item window is checked."""
        self.child(index, kind, ev, PROGRESS_ITEM_TYPES.get(kind.rsplit(".", 1)[0]))

    def part_added(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        part = ev["part"]
        part_type = self._part_type(index, kind, part)
        item = self.child(index, kind, ev)
        if item is None:
            return
        allowed = PART_TYPES.get(part_type)
        if allowed is not None and item.type is None:
            item.type = _only(allowed[0])
        if allowed is not None and item.type not in allowed[0]:
            self.found.append(EVENT_KIND(index, (
                f"`{kind}` adds a `{part_type}` part to a `{item.type}` item; `{part_type}` parts belong to "
                f"{names(allowed[0])} items")))
        number = ev["content_index"]
        if item.content_frontier == UNKNOWN:  # the first part an adopted item opens here: any index not yet seen
            item.next_content = max(item.next_content, number)
            item.content_frontier = max(number, 0)
        if number == item.maybe_part + 1 == item.next_content + 1:  # the unreadable event opened the part before
            item.next_content = number
        item.maybe_part = -1
        if number != item.next_content or number in item.parts or number in item.part_values:
            self.found.append(CONTENT_INDEX(index, (
                f"`{kind}` opened `content_index` {number} of `output_index` {ev['output_index']}, expected "
                f"{item.next_content}: the Python SDK places parts by `content_index`, so text lands in the wrong "
                "part")))
        if number in item.parts:
            return
        seed = part.get(allowed[1]) if allowed is not None else None
        family = VALUE_FAMILIES.get(part_type)
        item.parts[number] = OpenPart(part_type, self._twinned(Join.seeded(seed), family and FAMILIES[family].output))
        item.next_content = max(item.next_content, number + 1)

    def part_done(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        part = ev["part"]
        part_type = self._part_type(index, kind, part)
        item = self.child(index, kind, ev)
        if item is None:
            return
        number = ev["content_index"]
        open_part = item.parts.pop(number, None)
        if open_part is None:
            if not self._part_adoptable(item.content_frontier, number, item.parts, item.part_values,
                                        item.maybe_part):
                self.found.append(PART_NOT_OPEN(index, self._part_not_open(kind, "content part", number, ev, item)))
                return
            # opened (and perhaps fully streamed) before the resume: the snapshot is all there is to know
            value = part.get(PART_TYPES.get(part_type, ((), "text"))[1])
            if isinstance(value, str):
                item.part_values[number] = (part_type, value)
            item.next_content = max(item.next_content, number + 1)
            return
        value = open_part.join.value()
        if not open_part.join.known():  # adopted mid-way with no `.done`: the snapshot gives the whole value
            got = part.get(PART_TYPES.get(part_type, ((), "text"))[1])
            value = got if isinstance(got, str) else value
        where = f"`{kind}` (`output_index` {ev['output_index']}, `content_index` {number})"
        if part_type != open_part.type:
            self.found.append(SNAPSHOT_MISMATCH(index, (
                f"{where} closes a `{part_type}` part that was added as `{open_part.type}`: the client built the "
                "wrong kind of part")))
        else:
            name = PART_TYPES.get(part_type, ((), "text"))[1]
            got = part.get(name)
            if got != value:
                self._snapshot_mismatch(index, f"{where} `part.{name}`", got, value)
            annotations = part.get("annotations")
            if (isinstance(annotations, list) and open_part.annotations is not None
                    and len(annotations) != open_part.annotations):
                self.found.append(SNAPSHOT_MISMATCH(index, (
                    f"{where} `part.annotations` has {len(annotations)} entries, but {open_part.annotations} "
                    "`output_text.annotation.added` events came: citations shown while streaming and in the "
                    "final part differ")))
        if open_part.join.final is None and open_part.type in PART_TYPES and not open_part.join.gapped:
            self._done_missing(index, kind, f"{open_part.type}", ev["output_index"], number)
        item.part_values[number] = (open_part.type, value)

    def summary_added(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        self._part_type(index, kind, ev["part"])
        item = self.child(index, kind, ev, REASONING)
        if item is None:
            return
        number = ev["summary_index"]
        if item.summary_frontier == UNKNOWN:  # the first summary part an adopted item opens: any index not yet seen
            item.next_summary = max(item.next_summary, number)
            item.summary_frontier = max(number, 0)
        if number == item.maybe_summary + 1 == item.next_summary + 1:  # the unreadable event opened the one before
            item.next_summary = number
        item.maybe_summary = -1
        still_open = [other for other, part in item.summaries.items() if not part.uncertain]
        if still_open or number != item.next_summary or number in item.summary_values:
            still = f" while summary part {still_open[0]} is still open" if still_open else ""
            self.found.append(SUMMARY_ORDER(index, (
                f"`{kind}` opened `summary_index` {number}{still}, expected {item.next_summary} after the previous "
                "part closed: summary parts are strictly sequential, and clients append each to `summary` in "
                "order")))
        if number in item.summaries:
            return
        text = ev["part"].get("text")
        item.summaries[number] = OpenPart("summary_text", self._twinned(Join.seeded(text), "reasoning"))
        item.next_summary = max(item.next_summary, number + 1)

    def summary_done(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        self._part_type(index, kind, ev["part"])
        item = self.child(index, kind, ev, REASONING)
        if item is None:
            return
        number = ev["summary_index"]
        open_part = item.summaries.pop(number, None)
        got = ev["part"].get("text")
        if open_part is None:
            if not self._part_adoptable(item.summary_frontier, number, item.summaries, item.summary_values,
                                        item.maybe_summary):
                self.found.append(PART_NOT_OPEN(index, self._part_not_open(kind, "summary part", number, ev, item)))
                return
            if isinstance(got, str):  # opened before the resume: the snapshot is all there is to know
                item.summary_values[number] = got
            item.next_summary = max(item.next_summary, number + 1)
            return
        value = open_part.join.value()
        if not open_part.join.known() and isinstance(got, str):
            value = got  # adopted mid-way with no `.done`: the snapshot gives the whole value
        if got != value:
            where = f"`{kind}` (`output_index` {ev['output_index']}, `summary_index` {number}) `part.text`"
            self._snapshot_mismatch(index, where, got, value)
        if open_part.join.final is None and not open_part.join.gapped:
            self._done_missing(index, kind, "summary_text", ev["output_index"], number)
        item.summary_values[number] = value

    def annotation(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        item = self.child(index, kind, ev, MESSAGE)
        if item is None:
            return
        number, annotation_index = ev["content_index"], ev["annotation_index"]
        part = item.parts.get(number)
        if part is None:
            part = self._adopt_part(item, number, "output_text")
            if part is None:
                self.found.append(PART_NOT_OPEN(index, self._part_not_open(kind, "content part", number, ev, item)))
                return
        if part.type != "output_text":
            self.found.append(EVENT_KIND(index, f"`{kind}` annotates a `{part.type}` part; only `output_text` "
                                                "parts carry annotations"))
            return
        if part.join.final is not None:
            self.found.append(DELTA_AFTER_DONE(index, (
                f"`{kind}` came after `response.output_text.done` of `content_index` {number}: "
                "annotations belong before the text is done, and a client that finalised the part drops it")))
        if part.annotations is None:
            part.annotations = annotation_index  # adopted after a resume: earlier annotations went unseen
        if annotation_index != part.annotations:
            self.found.append(ANNOTATION_INDEX(index, (
                f"`{kind}` has `annotation_index` {annotation_index}, expected {part.annotations}: clients "
                "store annotations by index, so citations are misplaced or overwritten")))
        part.annotations += 1

    def shell_command_added(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        item = self.child(index, kind, ev, FAMILIES["response.shell_call_command"].item_types)
        if item is None:
            return
        number = ev["command_index"]
        if number in item.commands:
            self.found.append(PART_NOT_OPEN(index, (
                f"`{kind}` opens `command_index` {number} of `output_index` {ev['output_index']} again: "
                "the command's text restarts and the client's copy is wrong")))
        item.commands[number] = Join.seeded(ev["command"])

    # ---- delta families ----------------------------------------------------------------------------------

    def delta(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        family_name, family = DELTA_FAMILIES[kind]
        # NOTE: the hot path: a text delta into the open part of an open message, checked with a few lookups;
        # anything unusual takes `_join`, which reports what is wrong.
        item = self.open.get(ev["output_index"])
        part = item.parts.get(ev["content_index"]) if family.scope == "part" and item is not None else None
        if part is not None and part.type == family.part_type and ev["item_id"] == item.id:
            join = part.join
        else:
            join = self._join(index, kind, family_name, family, ev)
            if join is None:
                self.stray(index, family.output, ev["delta"])
                return
        if join.final is not None and self.once("after-done", kind, ev["output_index"], _sub_index(ev)):
            self.found.append(DELTA_AFTER_DONE(index, (
                f"`{kind}` came after `{family_name}.done`: the client already has the final value and drops "
                "this text, or shows text the final value lacks")))
        self.append(index, join, self.buckets.get(family.output), ev["delta"])

    def append(self, index: int, join: Join, bucket: Fragments | None, text: str) -> None:
        """One delta's text into its value and its output's bucket: all a delta does once judged (the full path's
        `delta`, and the fast path's `Checker.shape`)."""
        join.deltas += 1
        if text:
            if bucket is not None:
                bucket.append(text)
            join.pieces.append(text)  # NOTE: both skip an empty text, so they group the same pieces (`_twinned`)
            if self.assembly.first_content_index is None:
                self.assembly.first_content_index = index

    def stray(self, index: int, bucket: str | None, text: str) -> None:
        """A delta's text no open value took (its part never added, or its event failed the schema), judged
        already: into its output's text all the same, as a client that joins every `delta` shows it (the Python SDK's
        `create(stream=True)` hands each one over), so `view` and `diff` do not call the text lost."""
        pieces = self.buckets.get(bucket)
        if pieces is not None and text:
            pieces.append(text)
            if self.assembly.first_content_index is None:
                self.assembly.first_content_index = index

    def steady_join(self, kind: str, payload: dict[str, Any]) -> tuple[Join, Fragments | None] | None:
        """The value a delta event like this validated one appends to, and its assembly bucket, when `delta` of one
        like it would only append: its item is open under that `item_id`, its part, summary part or item value is
        open and has no `.done` yet. None otherwise. For the fast path (`Checker.shape`)."""
        # NOTE: three conditions below are only defensive (tests/test_delta_shape.py passes without them): a delta
        # that names another `item_id`, or comes after its value's `.done`, is reported once and then appended like
        # any other (an adopted item with no id takes the first one named); and a summary or item value of the
        # wrong item type never gets a join, so none is found. They keep the fast path to the plainest case.
        family_name, family = DELTA_FAMILIES[kind]
        if family.scope == "command":
            return None  # shell commands (no `item_id`): rare, left to the full path
        item = self.open.get(payload["output_index"])
        if item is None or item.id != payload["item_id"]:
            return None
        if family.scope == "part":
            part = item.parts.get(payload["content_index"])
            # a delta of another family into this part is reported once, then dropped: never appended
            join = part.join if part is not None and part.type == family.part_type else None
        elif item.type not in family.item_types:
            return None
        elif family.scope == "summary":
            part = item.summaries.get(payload["summary_index"])
            join = part.join if part is not None else None
        else:
            join = item.joins.get(family_name)
        if join is None or join.final is not None:
            return None
        return join, self.buckets.get(family.output)

    def done(self, index: int, kind: str, ev: dict[str, Any]) -> None:
        family_name, family = DONE_FAMILIES[kind]
        join = self._join(index, kind, family_name, family, ev)
        if join is None:
            return
        value = ev[family.done_field]
        if join.final is not None:
            self.found.append(DELTA_AFTER_DONE(index, (
                f"a second `{kind}` for the same value: the client finalises it twice, and the two may differ")))
        if join.pieces.matches(value):  # NOTE: the common case; the `.done` value then stands for the pieces
            streamed = value
            join.pieces = Fragments([value])
        else:
            streamed = join.streamed()
        if join.partial:
            self._done_partial(index, kind, family_name, family, join, value, streamed)
        elif streamed != value:
            if join.deltas == 0 and family.whole_at_done:
                self.found.append(DONE_WITHOUT_DELTA(index, (
                    f"`{kind}` carries `{family.done_field}` {excerpt(value)} but no `{family_name}.delta` came: "
                    "a client that builds arguments from the deltas gets an empty string")))
            else:
                done_value, joined = excerpts(value, streamed)
                self.found.append(DELTA_MISMATCH(index, (
                    f"`{kind}` `{family.done_field}` is {done_value}, but its {join.deltas} delta(s) join to "
                    f"{joined}: a client that shows the deltas and one that reads `.done` disagree")))
        if join.deltas == 0 and value and family.output is not None and not join.partial:
            self._emit(family.output, value)
            self.assembly.saw_content(index)
        join.final = streamed if value == streamed else value  # NOTE: one copy of a long text, not two
        if family.output == "tool":
            item = self.open.get(ev["output_index"])
            if item is not None and item.tool_call is not None:
                item.tool_call.arguments = streamed if join.deltas and not join.partial else value

    def _done_partial(self, index: int, kind: str, family_name: str, family: Family, join: Join, value: str,
                      streamed: str) -> None:
        """A value adopted after a resume: its earlier deltas are unknown, but the `.done` ends with the later."""
        if value.endswith(streamed):
            return
        self.found.append(DELTA_MISMATCH(index, (
            f"`{kind}` `{family.done_field}` is {excerpt(value)}, which does not end with what its "
            f"{join.deltas} delta(s) after the resume join to ({excerpt(streamed)}): a client that shows the "
            "deltas and one that reads `.done` disagree")))

    def _join(self, index: int, kind: str, family_name: str, family: Family, ev: dict[str, Any]) -> Join | None:
        scope, position = family.scope, ev["output_index"]
        if scope == "part":
            item = self.child(index, kind, ev, family.item_types)
            if item is None:
                return None
            number = ev["content_index"]
            part = item.parts.get(number) or self._adopt_part(item, number, family.part_type)
            if part is None:
                if self.once("part", kind, position, number):
                    self.found.append(PART_NOT_OPEN(index, self._part_not_open(kind, "content part", number, ev, item)))
                return None
            if part.type != family.part_type:
                if not self.once("part-kind", kind, position, number):
                    return None
                self.found.append(EVENT_KIND(index, (
                    f"`{kind}` streams into `content_index` {number}, a `{part.type}` part; it belongs "
                    f"to a `{family.part_type}` part: the text lands in the wrong field")))
                return None
            return part.join
        if scope == "summary":
            item = self.child(index, kind, ev, family.item_types)
            if item is None:
                return None
            number = ev["summary_index"]
            part = item.summaries.get(number) or self._adopt_summary(item, number)
            if part is None and self.once("part", kind, position, number):
                self.found.append(PART_NOT_OPEN(index, self._part_not_open(kind, "summary part", number, ev, item)))
            return None if part is None else part.join
        if scope == "command":
            item = self.child(index, kind, ev, family.item_types)
            if item is None:
                return None
            number = ev["command_index"]
            join = item.commands.get(number)
            if join is None and item.adopted:
                join = item.commands[number] = Join(partial=True)
            if join is None and self.once("part", kind, position, number):
                self.found.append(PART_NOT_OPEN(index, (
                    f"`{kind}` names `command_index` {number} of `output_index` {position}, which "
                    "no `response.shell_call_command.added` opened: the client has no command to append to")))
            return join
        item = self.child(index, kind, ev, family.item_types)
        if item is None:
            return None
        join = item.joins.get(family_name)
        if join is None:
            seed = dig(item.snapshot, family.snapshot)
            join = item.joins[family_name] = Join.seeded(seed, partial=item.adopted)
            if item.uncertain:  # an unreadable event since the item opened may have been this value's first delta
                gap(join)
        return join

    def _part_adoptable(self, frontier: int, number: int, parts: dict[int, Any], values: dict[int, Any],
                        maybe: int = -1) -> bool:
        """A part this stream never saw, below its item's frontier (opened before the resume, on adopted items), or
        the one an unreadable event may have opened (`maybe`)."""
        return (0 <= number < frontier or number == maybe) and number not in parts and number not in values

    def _adopt_summary(self, item: OpenItem, number: int) -> OpenPart | None:
        if not self._part_adoptable(item.summary_frontier, number, item.summaries, item.summary_values,
                                    item.maybe_summary):
            return None
        part = item.summaries[number] = OpenPart("summary_text", Join(partial=True), None,
                                                 uncertain=number == item.maybe_summary)
        item.next_summary = max(item.next_summary, number + 1)
        return part

    def _adopt_part(self, item: OpenItem, number: int, part_type: str | None) -> OpenPart | None:
        if part_type is None or not self._part_adoptable(item.content_frontier, number, item.parts, item.part_values,
                                                         item.maybe_part):
            return None
        part = item.parts[number] = OpenPart(part_type, Join(partial=True, gapped=number == item.maybe_part),
                                             None, uncertain=number == item.maybe_part)
        item.next_content = max(item.next_content, number + 1)
        return part

    def _part_not_open(self, kind: str, label: str, number: int, ev: dict[str, Any], item: OpenItem) -> str:
        field, parts = ("summary_index", "summary") if label == "summary part" else ("content_index", "content")
        listed = item.snapshot.get(parts)
        held = type(listed) is list and 0 <= number < len(listed)  # codex-relay adds reasoning with its summary part
        harm = ("the Python SDK indexes the item's parts and fails, or drops the data" if kind in SDK_PART_EVENTS else
                f"a client that opens the item's parts on their `.added` events by `{field}` has none to put it in"
                + (f"; one that takes the parts the item's `{parts}` held when added has it" if held else "")
                + " (the openai Python SDK passes this event on without applying it)")
        return (f"`{kind}` names {label} {number} of `output_index` {ev['output_index']}, which is not open (never "
                f"added, or already done): {harm}")

    def _part_type(self, index: int, kind: str, part: dict[str, Any]) -> str:
        part_type = part.get("type")
        model = PART_MODELS.get(part_type) if isinstance(part_type, str) else None
        if model is None and not isinstance(part_type, str):
            self.found.append(SCHEMA(index, f"`{kind}` `part` lacks a string `type`: the client cannot tell "
                                                 "what kind of content it is"))
            return "?"
        if model is not None:
            try:
                model(part)
            except ValidationError as error:
                self._schema(index, kind, error, "part", missing_in_part(part, "part"))
        return part_type

    def _twinned(self, join: Join, bucket_name: str | None) -> Join:
        """A value that streams into an output's text: the two grow by the same deltas from here on, and share
        their groups of them (`Fragments.twin`), so a long answer is held once, not twice."""
        bucket = self.buckets.get(bucket_name)
        if bucket is not None:
            bucket.settle()
            join.pieces.twin, bucket.twin = bucket, join.pieces
        return join

    def _emit(self, bucket: str | None, text: str) -> None:
        pieces = self.buckets.get(bucket)
        if pieces is not None:
            pieces.append(text)

    # ---- the end -----------------------------------------------------------------------------------------

    def cut_items(self) -> str:
        """The items a cut stream left open, for its end's finding: `; message item msg_1 (output_index 0) was open,
        and may be cut short`."""
        return left_open([f"`{item.type or 'output'}` item `{item.id}` (`output_index` {position})"
                          for position, item in [*sorted(self.open.items()),
                                                 *((item.index, item) for item in self.shadows.values())]
                          if not item.uncertain])

    def check_open_items(self, index: int, kind: str, output: list[Any]) -> None:
        """Items the terminal event ends with no `output_item.done`: their values in the final output against what
        streamed into them (nothing else held them to it: gpt-oss's reference server streamed 20 words and listed
        19), one finding per item, at its first difference; and a tool call's arguments there, which
        `get_final_response()` hands the app (Agent Framework's DevUI never sends the done item, and its cut
        arguments were run as `{}`)."""
        for item in sorted(self.open.values(), key=lambda item: item.index):
            # NOTE: found by id: after an index gap the final output places items as it will (said where it came)
            found = [(position, entry) for position, entry in enumerate(output)
                     if isinstance(entry, dict) and entry.get("id") == item.id]
            if item.uncertain or type(item.id) is not str or not found:
                continue
            position, entry = found[0]
            self._check_arguments(index, f"`{kind}` `response.output[{position}].arguments` (a `{entry.get('type')}` "
                                         "that never got `output_item.done`) is", entry, _streamed_arguments(item))
            for path, streamed in _streamed_values(item):
                got = dig(entry, path)
                if got != streamed:
                    final, gave = excerpts(got, streamed)
                    field = "".join(f"[{key}]" if type(key) is int else f".{key}" for key in path)
                    self.found.append(TERMINAL_OUTPUT(index, (
                        f"`{kind}` `response.output[{position}]{field}` is {final}, but the stream gave {gave} (the "
                        "item never got `output_item.done`): `get_final_response()` and a client that joins the "
                        "deltas disagree on what was said")))
                    break

    def close_open_items(self, index: int | None, why: str, report: bool = True) -> None:
        """Items still open when the response ended (terminal event or end of stream); `report=False` when the
        response failed, or the stream was cut (`cut_items`), which explains by itself why they never finished."""
        for position, item in [*sorted(self.open.items()), *((item.index, item) for item in self.shadows.values())]:
            self._settle_tool_call(item, None)
            if not report or item.uncertain:  # NOTE: an unreadable event may have been its `output_item.done`
                continue
            if item.type == "mcp_list_tools" and item.concurrent:
                self.found.append(MCP_DONE_MISSING(index, (
                    f"`mcp_list_tools` item `{item.id}` (`output_index` {position}) was open alongside other items "
                    f"and never got `output_item.done` before {why}: a known OpenAI anomaly; its tools only reach "
                    "the client through the terminal `response.output`")))
            else:
                self.found.append(ITEM_DONE_MISSING(index, (
                    f"`{item.type or 'output'}` item `{item.id}` (`output_index` {position}) never got "
                    "`output_item.done` "
                    f"before {why}: a client waiting for the item to finish never sees its final state")))
        self.open.clear()
        self.shadows.clear()

    def check_terminal_output(self, index: int, kind: str, output: list[dict[str, Any]], partial: bool) -> None:
        """`partial`: a failed response may list fewer items than were streamed (NOTE: the docs do not say)."""
        if self.resumed:
            self._check_resumed_output(index, kind, output, partial)
            return
        if self.misplaced:
            self._check_output_by_id(index, kind, output, partial)
            return
        self._check_output_count(index, kind, output, partial, len(self.item_ids))
        self._report_moved(index, kind, [self._check_output_entry(index, kind, position, entry)
                                         for position, entry in enumerate(output[:len(self.item_ids)])])
        if self.saw_unknown and not partial:
            self._check_unread_arguments(index, kind, output)

    def _check_output_count(self, index: int, kind: str, output: list[dict[str, Any]], partial: bool,
                            streamed: int) -> None:
        unseen = self.could_add
        if len(output) > streamed + unseen or (len(output) < streamed and not partial):
            more = f" (and at most {unseen} more in events that could not be read)" if unseen else ""
            self.found.append(TERMINAL_OUTPUT(index, (
                f"`{kind}` `response.output` lists {len(output)} item(s), but the stream added {streamed}{more}: "
                "`get_final_response()` and a client that followed the stream disagree on what was said")))

    def _check_unread_arguments(self, index: int, kind: str, output: list[dict[str, Any]]) -> None:
        """The arguments of the tool calls with no readable `output_item.done`, in a stream where an event could not
        be read (it may have been that done): the final response is what hands them to the app."""
        for position, entry in enumerate(output):
            item_id = entry.get("id") if isinstance(entry, dict) else None
            if type(item_id) is str and item_id not in self.done_by_id:
                self._check_arguments(index, f"`{kind}` `response.output[{position}].arguments` (a "
                                             f"`{entry.get('type')}` with no readable `output_item.done`) is", entry)

    def _check_resumed_output(self, index: int, kind: str, output: list[dict[str, Any]], partial: bool) -> None:
        """A resume saw only the items named after its first event: the output may list earlier ones, but must list
        every item this stream saw, and nothing past the items it opened itself."""
        reached = self.next_index
        if (len(output) > reached and self.frontier != UNKNOWN) or (len(output) < reached and not partial):
            self.found.append(TERMINAL_OUTPUT(index, (
                f"`{kind}` `response.output` lists {len(output)} item(s), but this resumed stream reached "
                f"`output_index` {reached - 1}: `get_final_response()` and a client that followed the stream "
                "disagree on what was said")))
        self._report_moved(index, kind, [self._check_output_entry(index, kind, position, output[position])
                                         for position, item_id in sorted(self.item_ids.items())
                                         # NOTE: an adopted item may never show its id
                                         if position < len(output) and item_id is not None])

    def _check_output_by_id(self, index: int, kind: str, output: list[dict[str, Any]], partial: bool) -> None:
        """After an `output_index` gap or reuse (reported where it came) the indexes no longer say which item is
        which: the output is held to the items the stream added, by id (an id added twice is one item)."""
        self._check_output_count(index, kind, output, partial,
                                 len(self.added_ids) + self.added_without_id + len(self.ghosts) + len(self.done_only))
        if self.saw_unknown and not partial:
            self._check_unread_arguments(index, kind, output)
        for position, entry in enumerate(output):
            got_id = entry.get("id") if isinstance(entry, dict) else None
            if type(got_id) is not str:
                continue
            if got_id not in self.added_ids and got_id not in self.done_only:
                if not self.could_add and not self.ghosts:  # NOTE: an unreadable event may have added it
                    self.found.append(TERMINAL_OUTPUT(index, (
                        f"`{kind}` `response.output[{position}].id` is `{got_id}`, which no `output_item.added` "
                        "named: the final response names an item the client never saw")))
                continue
            done = self.done_by_id.get(got_id)
            if done is not None:
                self._check_against_done(index, kind, position, entry, done)

    def _check_output_entry(self, index: int, kind: str, position: int, entry: Any) -> tuple[int, str, int] | None:
        """An entry whose id the stream added at another index is returned (`_report_moved` says them all at once:
        one swap is one finding, not two)."""
        expected_id = self.item_ids.get(position)
        if expected_id is None and position in self.ghosts:
            return None  # added by an unreadable event, and no later event named its id
        got_id = entry.get("id") if isinstance(entry, dict) else None
        if got_id != expected_id:
            seen = self.added_ids.get(got_id) if type(got_id) is str else None
            if seen is not None:
                return position, got_id, seen[1]
            added = "an item without an id" if expected_id is None else f"`{expected_id}`"
            self.found.append(TERMINAL_OUTPUT(index, (
                f"`{kind}` `response.output[{position}].id` is `{got_id}`, but the stream added {added} at that "
                "index: the final response names items the client never saw")))
            return None
        done = self.done_items.get(position)
        if done is not None:
            self._check_against_done(index, kind, position, entry, done)
        return None

    def _report_moved(self, index: int, kind: str, moved: list[tuple[int, str, int] | None]) -> None:
        """Items the final output lists at another index than the stream added them at, in one finding."""
        places = [f"`response.output[{position}]` is `{item_id}`, added at `output_index` {added}"
                  for position, item_id, added in filter(None, moved)]
        if places:
            self.found.append(TERMINAL_OUTPUT(index, (
                f"`{kind}` lists the items in another order than the stream: {'; '.join(places)}: "
                "`get_final_response()` and a client that followed the stream disagree on which item is which")))

    def _check_against_done(self, index: int, kind: str, position: int, entry: Any, done: dict[str, Any]) -> None:
        where = f"response.output[{position}]"
        # NOTE: a field the Python SDK requires that either item lacks is `responses/sdk-field-missing`'s (at its event)
        said = frozenset(missing_in_item(entry, where)) | frozenset(missing_in_item(done, where))
        path = first_difference(stable(done), stable(entry), where, said)
        if path is not None:
            field, streamed, final = path
            if isinstance(final, list) and isinstance(streamed, list):  # their excerpts may well look alike
                now, then = f"`{kind}` `{field}` has {len(final)} entries", f"{len(streamed)}"
            else:
                now = f"`{kind}` lacks `{field}`" if final is ABSENT else f"`{kind}` `{field}` is {excerpt(final)}"
                then = "the item without it" if streamed is ABSENT else excerpt(streamed)
            self.found.append(TERMINAL_OUTPUT(index, (
                f"{now}, but `output_item.done` streamed {then}: the final response and the streamed item disagree")))


def _streamed_arguments(item: OpenItem) -> str | None:
    """What an item's argument deltas joined to, when every one of them was read; None without any."""
    return next((join.streamed() for name, join in item.joins.items()
                 if FAMILIES[name].snapshot == ("arguments",) and join.deltas and not join.partial and not join.gapped),
                None)


def _streamed_values(item: OpenItem) -> list[tuple[tuple[str | int, ...], str]]:
    """(path in the item, text) of every value that streamed into an item whole: its closed parts' and the open
    ones' with nothing unreadable among their deltas, its summaries', its item-scoped values' (arguments, code)."""
    values: list[tuple[tuple[str | int, ...], str]] = []
    for number, (part_type, value) in sorted(item.part_values.items()):
        values.append((("content", number, PART_TYPES.get(part_type, ((), "text"))[1]), value))
    for number, part in sorted(item.parts.items()):
        if not part.uncertain and part.join.known() and not part.join.gapped:
            values.append((("content", number, PART_TYPES.get(part.type, ((), "text"))[1]), part.join.value()))
    for number, value in sorted(item.summary_values.items()):
        values.append((("summary", number, "text"), value))
    for number, part in sorted(item.summaries.items()):
        if not part.uncertain and part.join.known() and not part.join.gapped:
            values.append((("summary", number, "text"), part.join.value()))
    for name, join in item.joins.items():
        if join.known() and not join.gapped:
            values.append((FAMILIES[name].snapshot, join.value()))
    return values


def _only(types: frozenset[str] | None) -> str | None:
    """The item type an event implies, when it fits exactly one."""
    return next(iter(types)) if types and len(types) == 1 else None


def _sub_index(ev: dict[str, Any]) -> int | None:
    """The part, summary part or command a delta names (None for item-scoped families)."""
    for name in ("content_index", "summary_index", "command_index"):
        number = ev.get(name)
        if number is not None:
            return number
    return None
