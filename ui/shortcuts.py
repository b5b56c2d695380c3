"""Keyboard shortcuts for the Review page, injected into the page ``<head>``.

``a`` accepts, ``r`` rejects and ``s`` skips the pair on screen by clicking the matching button, but only
while the Review tab is visible and the focus is not in a text field (so typing a note is safe).
"""

from __future__ import annotations

#: elem_id of the button each key clicks.
KEY_TO_BUTTON = {"a": "review-accept", "r": "review-reject", "s": "review-skip"}

HEAD = (
    "<script>\n"
    "(() => {\n"
    f"  const keys = {{{', '.join(f'{k!r}: {v!r}' for k, v in KEY_TO_BUTTON.items())}}};\n"
    """  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    const tag = (target && target.tagName || '').toLowerCase();
    if (tag === 'input' || tag === 'textarea' || tag === 'select' || (target && target.isContentEditable)) return;
    const id = keys[event.key.toLowerCase()];
    if (!id) return;
    const button = document.getElementById(id);
    if (!button || button.offsetParent === null || button.disabled) return;  // Review tab hidden
    event.preventDefault();
    button.click();
  });
})();
</script>
"""
)
