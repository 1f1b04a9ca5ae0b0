"""The archive of recorded sittings: captions and chapters, cut lists, and publishing jobs.

`formats` parses and writes the archive's text formats (cut lists, WebVTT, chapters); `jobs`
runs recording edits and publishing in the background; `pages` builds the template contexts;
`views` and `feeds` declare the routes.
"""
