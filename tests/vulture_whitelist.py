"""Names vulture (tox -e lint) cannot see used: read by C code or a library,
or an API kept for the tests' oracle. Never executed; vulture only parses it.
Add a name here only with the reason it is not dead."""
import click

from pyrunc import jsonio, schema

# _json.make_scanner reads these attributes of its context object.
jsonio._Context.strict
jsonio._Context.object_hook
jsonio._Context.object_pairs_hook
jsonio._Context.parse_float
jsonio._Context.parse_int
jsonio._Context.parse_constant
jsonio._Context.memo

# click reads it when it renders --help (cli/help.py sets it on its commands).
click.Command.options_metavar

# The tests check pyrunc's validator against jsonschema's with it
# (tests/unit/test_schema.py, test_config_fuzz.py): a real, tested API.
schema.Validator.is_valid
