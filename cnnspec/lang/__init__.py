"""The language: a .cnn file's text, its syntax tree (lark, `cnnspec.lark`), the IR it resolves to, the
plain values both share, and the one error family for everything a user can cause."""
