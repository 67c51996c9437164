"""A seeded fuzzer for exactbn's commands (``python -m fuzz``, ``make fuzz``).

It mutates valid layer files, solved files and ONNX models field by field, runs each
command on every mutant in a fresh sandbox with a timeout, and sorts each outcome into a
class: clean exit 2, check failed, success, traceback, hang, garbage accepted, file outside
-o. Modules: ``values`` (extreme values, odd names), ``jsontext`` (a JSON writer that can
emit what ``json`` cannot: NaN tokens, duplicate keys, raw text), ``mutate_json``,
``mutate_onnx``, ``seeds`` (the valid inputs), ``oracle`` (what a mutant must not be
accepted as), ``sandbox`` (snapshots), ``runner`` (one command), ``classify``, ``campaign``
(cases -> outcomes), ``report`` (JSON, Markdown, reproduction files).
"""
