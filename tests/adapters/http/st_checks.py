"""A schemathesis check of ours (loaded through SCHEMATHESIS_HOOKS): no answer carries a
Python stack trace or names a source file."""
import schemathesis

MARKERS = ("Traceback (most recent call last)", '.py", line ')


@schemathesis.check
def no_stack_trace(ctx, response, case):
    text = response.text
    for marker in MARKERS:
        if marker in text:
            raise AssertionError(f"the answer carries a stack trace ({marker!r})")
