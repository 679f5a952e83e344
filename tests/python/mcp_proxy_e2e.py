"""End to end through the official Python MCP client and the mcp-proxy bridge.

The client starts `mcp-proxy` as a stdio server (exactly as Claude Desktop or VS Code would),
and mcp-proxy forwards to our Streamable HTTP endpoint with the bearer token from
API_ACCESS_TOKEN. Lists the tools, then makes one proposal. Prints one JSON object per step.

usage: python mcp_proxy_e2e.py MCP_PROXY URL   (API_ACCESS_TOKEN in the environment)
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main() -> None:
    proxy, url = sys.argv[1], sys.argv[2]
    params = StdioServerParameters(
        command=proxy,
        args=["--transport", "streamablehttp", url],
        env={
            "API_ACCESS_TOKEN": os.environ["API_ACCESS_TOKEN"],
            "PATH": os.environ.get("PATH", ""),
        },
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            print(json.dumps({"step": "initialize", "server": init.serverInfo.name}), flush=True)
            tools = await session.list_tools()
            print(json.dumps({"step": "tools", "names": [t.name for t in tools.tools]}), flush=True)
            refused = await session.call_tool(
                "create_secret",
                {
                    "project": "k3s-infrastructure",
                    "environments": ["prod"],
                    "key": "SMUGGLED",
                    "value": "plaintext-canary-0b7e",
                },
            )
            print(json.dumps({"step": "refused", "isError": refused.isError}), flush=True)
            result = await session.call_tool(
                "create_secret",
                {
                    "project": "k3s-infrastructure",
                    "environments": ["prod"],
                    "path": "/api-keys",
                    "key": "PAGERDUTY_API_KEY",
                    "comment": "incident alerts",
                    "source": {"bitwarden": {"item": "6b1f0c3e-2a7d-4c59-9e48-1d3a5f7b9c09"}},
                    "title": "Add the PagerDuty API key",
                    "rationale": "The alerting stack needs it.",
                },
            )
            text = "".join(c.text for c in result.content if c.type == "text")
            print(
                json.dumps(
                    {
                        "step": "proposal",
                        "isError": result.isError,
                        "text": text,
                        "structured": result.structuredContent,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main())
