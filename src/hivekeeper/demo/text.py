"""Canned text for the demo data set: what users ask, what models answer, what tools return.

Plain data, so the generator stays readable; every choice among these is made by the
generator's seeded random source, never here.
"""

from __future__ import annotations

SUPPORT_SYSTEM = (
    "You are Ava, the support assistant of Northwind Outfitters. Be concise and friendly. "
    "Use the tools to look up orders, refunds and shipping before answering; never invent "
    "an order status. Escalate to a human when the customer asks for one or is upset twice."
)
SUPPORT_QUESTIONS = (
    "Hi, where is my order {order}? It was supposed to arrive on Monday.",
    "I was charged twice for order {order}, can you refund one of them?",
    "Can I change the shipping address of order {order} to my office?",
    "The jacket I got in order {order} is the wrong size. How do I exchange it?",
    "How long do refunds usually take to show up on my card?",
    "Do you ship to Canada, and how much does it cost?",
    "My discount code SPRING20 is not working at checkout.",
    "I want to cancel order {order} before it ships.",
    "Can I talk to a human please? This is the third time I'm asking about {order}.",
    "What is your return policy for sale items?",
)
SUPPORT_FOLLOW_UPS = (
    "Thanks! Can you also tell me when the refund will arrive?",
    "OK, and will I get an email confirmation?",
    "That's not what I asked. I need the package, not a refund.",
    "Perfect, that solves it. Thank you!",
    "Can you send me the tracking link by email?",
)
SUPPORT_ANSWERS = (
    "I checked order {order}: it left our warehouse in Reno on {day} and is with UPS now. "
    "The latest scan says it will be delivered by Thursday evening. Here is the tracking "
    "link: https://track.example.com/{order}.",
    "You're right, order {order} was charged twice. I've refunded the duplicate charge of "
    "${amount}; it usually shows up on your card within 3-5 business days.",
    "I've updated the shipping address of order {order}. Since it has not shipped yet, "
    "there is no extra charge.",
    "Sure! Exchanges are free within 30 days. I've created a return label for order {order}; "
    "once we scan the package, we ship the new size right away.",
    "Refunds take 3-5 business days to appear, depending on your bank. You'll get an email "
    "as soon as we issue it.",
    "Yes, we ship to Canada: standard shipping is $12 and takes 5-8 business days; orders "
    "over $150 ship free.",
    "SPRING20 expired on Sunday, sorry about that. I've applied a 15% code to your cart "
    "instead: WELCOME15.",
    "Order {order} is cancelled and you won't be charged. Is there anything else I can do?",
    "I'm connecting you with a member of our team now; they can see this conversation, so "
    "you won't need to repeat yourself.",
    "Sale items can be returned within 14 days for store credit, as long as the tags are on.",
)
SUPPORT_PRAISE = (
    "Fast and correct, thanks",
    "Great, the refund showed up",
    "Exactly what I needed",
)
SUPPORT_COMPLAINTS = (
    "Answered the wrong question at first",
    "Had to ask for a human twice",
    "Tracking link was broken",
)

RAG_SYSTEM = (
    "Answer the question using only the context documents. Cite documents as [n]. If the "
    "context does not contain the answer, say that you don't know."
)
RAG_QUESTIONS = (
    "How do I rotate an API key without downtime?",
    "What is the retention period for audit logs on the Enterprise plan?",
    "Can I run the agent on-prem behind a proxy?",
    "How are webhooks retried when my endpoint is down?",
    "What's the difference between a workspace and a project?",
    "Does the SDK support async clients in Python?",
    "How do I export all traces of last month as CSV?",
    "Which regions is data stored in for EU customers?",
    "How do I set up SSO with Okta?",
    "What happens when I exceed my monthly token quota?",
    "How can I redact PII before events are stored?",
    "Is there a rate limit on the ingestion API?",
)
RAG_DOCS = (
    (
        "kb-101",
        "Rotating API keys",
        "Create the new key first, deploy it, then revoke the old "
        "key. Both keys work until the old one is revoked, so there is no downtime.",
    ),
    (
        "kb-204",
        "Audit log retention",
        "Audit logs are kept 90 days on Team and 400 days on "
        "Enterprise. Retention can be extended on request.",
    ),
    (
        "kb-311",
        "Running on-prem",
        "The agent honours HTTPS_PROXY and NO_PROXY. Certificates "
        "of a corporate proxy can be added with --ca-bundle.",
    ),
    (
        "kb-118",
        "Webhook delivery",
        "Failed webhooks are retried with exponential backoff for "
        "up to 24 hours: after 1 min, 5 min, 30 min, then hourly.",
    ),
    (
        "kb-020",
        "Workspaces and projects",
        "An organization has workspaces; a workspace holds "
        "projects; API keys belong to exactly one project.",
    ),
    (
        "kb-450",
        "Python SDK",
        "The Python SDK ships sync and async clients. Use AsyncClient inside asyncio applications.",
    ),
    (
        "kb-512",
        "Exporting data",
        "Use the export endpoint with a date range, or the Export "
        "button in the sessions list, to download CSV or JSONL.",
    ),
    (
        "kb-077",
        "Data residency",
        "EU customers' data is stored in Frankfurt (eu-central-1) and never leaves the EU.",
    ),
    (
        "kb-301",
        "SSO with Okta",
        "Add the SAML app in Okta, paste the metadata URL into "
        "Settings > SSO, then enforce SSO for the organization.",
    ),
    (
        "kb-199",
        "Token quotas",
        "Past the monthly quota, requests are served at pay-as-you-go "
        "rates; nothing is blocked unless a hard limit is set.",
    ),
    (
        "kb-388",
        "PII redaction",
        "Add redaction rules (regular expressions) per project; "
        "matches are replaced before events are written.",
    ),
    (
        "kb-140",
        "Rate limits",
        "Ingestion accepts 1,000 requests per second per project; "
        "clients get HTTP 429 with Retry-After beyond that.",
    ),
)

AGENT_TASKS = (
    "Compare the pricing of the three cheapest vector databases for 50M embeddings.",
    "Find out why the nightly ETL job failed and draft a fix.",
    "Summarise this week's customer complaints about checkout and group them by cause.",
    "Plan a three-day trip to Lisbon for a team of six under $4,000.",
    "Write a SQL query for monthly active users by country and check it on the warehouse.",
    "Research the latest papers on speculative decoding and list their speed-ups.",
    "Triage the 20 newest GitHub issues and label them.",
    "Reconcile last month's invoices against the payments table.",
)
AGENT_TOOLS = (
    ("web_search", "Search the web and return the top results."),
    ("fetch_url", "Fetch a URL and return its readable text."),
    ("sql_query", "Run a read-only SQL query on the analytics warehouse."),
    ("python_exec", "Run Python code in a sandbox and return stdout."),
    ("read_file", "Read a file from the workspace."),
    ("github_search_issues", "Search GitHub issues of a repository."),
)
AGENT_THOUGHTS = (
    "I should first gather the raw facts before comparing anything.",
    "The previous result was incomplete; I'll narrow the query.",
    "I have enough for this part; moving to the next sub-question.",
    "This source contradicts the earlier one, so I'll check a third.",
    "The numbers look off by a factor of 1000; probably units. Re-checking.",
    "I'll delegate the literature part to a sub-agent and continue with the data.",
)
AGENT_OBSERVATIONS = (
    "Found 8 results; the top three are vendor pricing pages updated this quarter.",
    "Query returned 1,204 rows in 0.8 s; the March partition is missing.",
    "The page lists three tiers: Starter $0.10/GB, Pro $0.25/GB, Enterprise custom.",
    "stdout: mean=42.7 p95=118.0 n=5000",
    "Traceback shows a KeyError on 'customer_id' in transform.py line 88.",
    "12 open issues match; 5 are duplicates of #1432.",
)
ERRORS = {
    "rate_limit": "openai.RateLimitError: Rate limit reached for gpt-4o in organization "
    "org-demo on tokens per min (TPM): Limit 30000, Used 29874. Please try again in 2s.",
    "overloaded": "anthropic.APIStatusError: Error code: 529 - {'type': 'error', 'error': "
    "{'type': 'overloaded_error', 'message': 'Overloaded'}}",
    "timeout": "TimeoutError: the order service did not answer within 10.0 s",
    "context": "openai.BadRequestError: This model's maximum context length is 128000 tokens. "
    "However, your messages resulted in 131204 tokens.",
    "tool_args": "ValueError: invalid arguments: field 'order_id' must be a string of 8 digits",
    "sql": 'psycopg.errors.UndefinedColumn: column "signup_country" does not exist',
    "max_steps": "AgentError: gave up after 12 steps without reaching a final answer",
}

# The experiments' golden set: (question, reference answer, topic). The first 20 are
# the dataset's first version; the last 4 come with its second.
GOLDEN_SET = (
    ("How long do refunds take to reach my card?",
     "Refunds take 3-5 business days to appear on your card after we issue them.", "refunds"),
    ("Do you ship to Canada?",
     "Yes. Standard shipping to Canada costs $12 and takes 5-8 business days; orders over "
     "$150 ship free.", "shipping"),
    ("What is the return window for sale items?",
     "Sale items can be returned within 14 days for store credit, with the tags still on.",
     "returns"),
    ("Can I change my shipping address after ordering?",
     "Yes, as long as the order has not shipped. Changing the address is free.", "orders"),
    ("How do I exchange a jacket for another size?",
     "Exchanges are free within 30 days. We email a return label and ship the new size once "
     "the package is scanned.", "returns"),
    ("Is the SPRING20 code still valid?",
     "No, SPRING20 expired on March 31. WELCOME15 gives 15% off a first order.", "promotions"),
    ("Can I cancel an order that has not shipped?",
     "Yes. Orders that have not shipped can be cancelled from your account page at no charge.",
     "orders"),
    ("How do I reach a human agent?",
     "Ask the assistant for a human at any time; an agent joins the chat within 10 minutes "
     "during business hours.", "support"),
    ("Do you offer gift wrapping?",
     "Yes, gift wrapping costs $5 per item and can be added at checkout.", "orders"),
    ("What payment methods do you accept?",
     "We accept Visa, Mastercard, American Express, PayPal and Apple Pay.", "payments"),
    ("I was charged twice. What should I do?",
     "A duplicate charge is refunded automatically within 24 hours; if it is still there "
     "after that, we refund it by hand.", "payments"),
    ("How much is express shipping in the US?",
     "Express shipping in the US costs $18 and arrives in 1-2 business days.", "shipping"),
    ("Can I return an item without the receipt?",
     "Yes. We find the order by your email address, so no receipt is needed.", "returns"),
    ("Do jackets come with a warranty?",
     "All jackets have a 2-year warranty against manufacturing defects.", "products"),
    ("Where is my package if tracking has not updated for 5 days?",
     "If tracking has not moved for 5 business days, we open a claim with the carrier and "
     "ship a replacement.", "shipping"),
    ("Can I use two discount codes on one order?",
     "No, one discount code applies per order.", "promotions"),
    ("Is there a student discount?",
     "Students get 10% off with a verified student email.", "promotions"),
    ("How do I delete my account?",
     "Write to privacy@northwind.example and we delete your account and data within 30 days.",
     "account"),
    ("Do you price match?",
     "We match the price of an identical item sold by a major retailer within 14 days of "
     "purchase.", "payments"),
    ("What sizes do the hiking boots come in?",
     "Hiking boots come in EU sizes 36 to 48, including half sizes.", "products"),
    ("Can I pick up my order in store?",
     "Yes, choose store pickup at checkout; orders are ready within 2 hours at our Reno and "
     "Boise stores.", "orders"),
    ("Do you ship to P.O. boxes?",
     "Yes, standard shipping delivers to P.O. boxes; express shipping does not.", "shipping"),
    ("How do I wash a down jacket?",
     "Machine wash cold on a gentle cycle with down detergent, then tumble dry low with dryer "
     "balls.", "products"),
    ("Can I change the email on my account?",
     "Yes, under Account > Settings; we send a confirmation link to the new address.",
     "account"),
)  # fmt: skip
# The third version's corrections: (index in GOLDEN_SET, the new reference answer).
GOLDEN_EDITS = (
    (5, "No, SPRING20 expired on March 31. SUMMER10 gives 10% off any order until August."),
    (11, "Express shipping in the US costs $20 and arrives in 1-2 business days."),
)
GOLDEN_REMOVED = 8  # gift wrapping was discontinued
SUPPORT_PROMPTS = (
    "You are Ava, the support assistant of Northwind Outfitters. Answer in one sentence.",
    "You are Ava, the support assistant of Northwind Outfitters. Be warm: thank the customer, "
    "answer fully, and offer more help.",
    "You are Ava, the support assistant of Northwind Outfitters. Answer from the policy "
    "excerpts only, in at most two sentences; say so when the policy does not cover it.",
)
HALLUCINATIONS = (
    " You'll also get a free tote bag with your next order.",
    " Members of our loyalty club get this twice as fast.",
    " This also applies to orders placed in our partner stores.",
)
