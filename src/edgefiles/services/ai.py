"""Workers AI, called from the queue consumer only (100-2000 ms is too slow for a request)."""

from typing import Any

SUMMARY_MODEL = "@cf/meta/llama-3.1-8b-instruct"


class Summarizer:
    def __init__(self, ai: Any) -> None:
        self._ai = ai

    async def summarize(self, text: str) -> str:
        result = await self._ai.run(
            SUMMARY_MODEL,
            {
                "messages": [
                    {"role": "system", "content": "Summarise the user's document in two sentences."},
                    {"role": "user", "content": text},
                ],
                "max_tokens": 256,
            },
        )
        return result["response"]
