"""The command-line reference, rendered from the click commands the app registers.

`flask --app wsgi <command>` (or `./notifier-cli <command>`, which adds the virtualenv and
the local signing key) runs them. Run this module alone to print the page body.
"""

from __future__ import annotations

import click
from docs_app import app

# Groups whose subcommands come from a library and are loaded on first use.
LIBRARY_GROUPS = {
    "db": "Flask-Migrate's commands (`upgrade`, `downgrade`, `current`, `revision`, "
    "`history` …); `./notifier-cli db --help` lists them all.",
}


def render() -> str:
    flask_app = app()
    out = []
    for name, command in sorted(flask_app.cli.commands.items()):
        out.append(_command(["flask --app wsgi", name], command, level=2))
    return "\n".join(out)


def _command(path: list[str], command: click.Command, level: int) -> str:
    name = " ".join(path[1:])
    lines = [f"{'#' * level} `{name}`\n"]
    help_text = (command.help or "").strip()
    if help_text:
        lines.append(" ".join(help_text.split()) + "\n")
    context = click.Context(command, info_name=" ".join(path))
    pieces = command.collect_usage_pieces(context)
    lines.append(f"```sh\n{' '.join(path)} {' '.join(pieces)}\n```\n".replace("  ", " "))
    options = [param for param in command.params if isinstance(param, click.Option)]
    if options:
        lines.append("| option | value | default | meaning |\n|---|---|---|---|")
        for option in options:
            lines.append(_option(option, context))
        lines.append("")
    if path[-1] in LIBRARY_GROUPS:
        lines.append(LIBRARY_GROUPS[path[-1]] + "\n")
    elif isinstance(command, click.Group):
        for sub_name, sub in sorted(command.commands.items()):
            lines.append(_command([*path, sub_name], sub, level + 1))
    return "\n".join(lines)


def _option(option: click.Option, context: click.Context) -> str:
    names = ", ".join(f"`{opt}`" for opt in option.opts + option.secondary_opts)
    value = "flag" if option.is_flag else _value(option.type)
    if option.multiple:
        value += " (repeatable)"
    default = option.get_default(context, call=False)
    if option.required:
        shown = "required"
    elif isinstance(default, bool) or not isinstance(default, str | int | float) or default == "":
        shown = "—"
    else:
        shown = f"`{default}`"
    meaning = " ".join((option.help or "").split()).replace("|", "\\|") or "—"
    return f"| {names} | {value} | {shown} | {meaning} |"


def _value(kind: click.ParamType) -> str:
    if isinstance(kind, click.Choice):
        return " \\| ".join(f"`{choice}`" for choice in kind.choices)
    if isinstance(kind, click.IntRange | click.FloatRange):
        base = "integer" if isinstance(kind, click.IntRange) else "number"
        return f"{base}, {kind.min} to {kind.max}"
    return {"text": "text", "integer": "integer", "float": "number"}.get(kind.name, kind.name)


if __name__ == "__main__":
    print(render())
