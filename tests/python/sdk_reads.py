"""Infisical's official Python SDK (`infisicalsdk`) against our dev server.

Logs in with universal auth, lists and reads the secrets the Rust test wrote, lists folders, then
writes through the SDK (folder create; secret create, update, delete on the v3 raw routes).
Input (environment): INFISICAL_API_URL, INFISICAL_UNIVERSAL_AUTH_CLIENT_ID,
INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET, TEST_PROJECT_ID, TEST_PROJECT_SLUG, TEST_EXPECTED (JSON:
{path: {key: value}} as the SDK should read it, references expanded).
Output: one JSON line with key names and counts. Values are compared here and never printed.
"""

import json
import os
import sys

from infisical_sdk import InfisicalSDKClient


def main() -> int:
    expected = json.loads(os.environ["TEST_EXPECTED"])
    project_id = os.environ["TEST_PROJECT_ID"]
    project_slug = os.environ["TEST_PROJECT_SLUG"]
    client = InfisicalSDKClient(host=os.environ["INFISICAL_API_URL"], cache_ttl=None)
    login = client.auth.universal_auth.login(
        client_id=os.environ["INFISICAL_UNIVERSAL_AUTH_CLIENT_ID"],
        client_secret=os.environ["INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET"],
    )
    problems = []
    report = {"tokenType": login.tokenType, "paths": {}, "readByName": 0}
    for path, secrets in sorted(expected.items()):
        listed = client.secrets.list_secrets(
            environment_slug="dev", secret_path=path, project_id=project_id
        )
        keys = sorted(secret.secretKey for secret in listed.secrets)
        report["paths"][path] = keys
        if keys != sorted(secrets):
            problems.append(f"list {path}: keys differ")
        for secret in listed.secrets:
            if secret.secretValue != secrets.get(secret.secretKey):
                problems.append(f"list {path}: value of {secret.secretKey} differs")
        # Secret imports (the SDK asks for them by default): what each import makes visible.
        report.setdefault("imports", {})[path] = [
            # The SDK keeps an import's secrets as the JSON objects it received.
            [imp.environment, imp.secretPath, sorted(secret["secretKey"] for secret in imp.secrets)]
            for imp in listed.imports
        ]
        for imp in listed.imports:
            source = expected.get(imp.secretPath, {})
            for secret in imp.secrets:
                if secret["secretValue"] != source.get(secret["secretKey"]):
                    problems.append(
                        f"import {imp.secretPath} into {path}: value of {secret['secretKey']} differs"
                    )
        by_slug = client.secrets.list_secrets(
            environment_slug="dev", secret_path=path, project_slug=project_slug
        )
        if sorted(secret.secretKey for secret in by_slug.secrets) != keys:
            problems.append(f"list {path} by project slug: keys differ")
        for key, value in sorted(secrets.items()):
            secret = client.secrets.get_secret_by_name(
                secret_name=key,
                project_id=project_id,
                environment_slug="dev",
                secret_path=path,
            )
            report["readByName"] += 1
            if secret.secretValue != value:
                problems.append(f"get {path} {key}: value differs")
    raw = client.secrets.list_secrets(
        environment_slug="dev",
        secret_path="/",
        project_id=project_id,
        expand_secret_references=False,
        recursive=True,
    )
    report["recursiveCount"] = len(raw.secrets)
    folders = client.folders.list_folders(
        project_id=project_id, environment_slug="dev", path="/", recursive=True
    )
    report["folders"] = sorted(folder.relativePath or folder.name for folder in folders.folders)
    # Writes through the SDK's v3 raw routes and its folder routes.
    folder = client.folders.create_folder(
        name="sdk", environment_slug="dev", project_id=project_id, path="/apps"
    )
    report["createdFolder"] = folder.path
    created = client.secrets.create_secret_by_name(
        secret_name="SDK_WRITTEN",
        project_id=project_id,
        environment_slug="dev",
        secret_path="/apps/sdk",
        secret_value="  written  ",
        secret_metadata=[{"key": "managed-by", "value": "sdk"}],
    )
    updated = client.secrets.update_secret_by_name(
        current_secret_name="SDK_WRITTEN",
        project_id=project_id,
        environment_slug="dev",
        secret_path="/apps/sdk",
        secret_value="rewritten",
    )
    read_back = client.secrets.get_secret_by_name(
        secret_name="SDK_WRITTEN",
        project_id=project_id,
        environment_slug="dev",
        secret_path="/apps/sdk",
    )
    if created.secretValue != "written" or read_back.secretValue != "rewritten":
        problems.append("SDK write: value differs")
    deleted = client.secrets.delete_secret_by_name(
        secret_name="SDK_WRITTEN",
        project_id=project_id,
        environment_slug="dev",
        secret_path="/apps/sdk",
    )
    report["sdkWrite"] = {
        "createdVersion": created.version,
        "updatedVersion": updated.version,
        "deletedKey": deleted.secretKey,
    }
    report["problems"] = problems
    print(json.dumps(report, sort_keys=True))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
