"""`flask api-keys create`: an operator makes a key for a user; it is printed once."""

from __future__ import annotations

from tests.helpers import ApiClient


def test_the_command_prints_a_live_key_of_every_scope(app, api, user):
    result = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--email", f"  {user.email.upper()} ", "--name", "Ops"]
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("ntf_live_")
    assert "notifications:send notifications:read notifications:write" in result.output
    keyed = ApiClient(app.test_client(), key, "")
    assert keyed.create().get_json()["sandbox"] is False
    listed = api.get("/api-keys").get_json()
    assert [(k["name"], k["prefix"]) for k in listed] == [("Ops", key[:16])]


def test_scopes_and_test_mode(app, user):
    result = app.test_cli_runner().invoke(
        args=[
            "api-keys", "create", "--email", user.email, "--name", "CI",
            "--scope", "notifications:read", "--test",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    keyed = ApiClient(app.test_client(), result.output.strip().splitlines()[-1], "")
    assert keyed.access_token.startswith("ntf_test_")
    keyed.get("/notifications", 200)
    assert "notifications:send" in keyed.create(expect=403).get_json()["message"]


def test_an_unknown_email_a_bad_scope_or_name_fail_cleanly(app, user):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["api-keys", "create", "--email", "no@example.com", "--name", "X"])
    assert unknown.exit_code != 0 and "No user" in unknown.output
    scope = runner.invoke(
        args=["api-keys", "create", "--email", user.email, "--name", "X", "--scope", "all"]
    )
    assert scope.exit_code != 0
    name = runner.invoke(args=["api-keys", "create", "--email", user.email, "--name", " "])
    assert name.exit_code != 0 and "--name" in name.output
