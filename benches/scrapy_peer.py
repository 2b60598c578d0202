#!/usr/bin/env python3
"""The peer a brand team would build instead of knockoff: a Scrapy spider
with the same politeness, lxml selectors and imagehash's pHash.

    python3 benches/scrapy_peer.py WORKSPACE OUT.jsonl

It reads the workspace knockoff crawls (knockoff.toml's targets under
targets/, the products and reference photos under reference-images/),
searches every target for every product's queries on every result page,
opens every listing, fetches its photos, hashes each with pHash and
compares it with every reference photo's (as is and mirrored), and writes
one JSON line per listing: its fields, the nearest reference per photo and
whether a keyword or a photo matched. Per host it keeps the target's
request rate and concurrency and obeys robots.txt.

`cargo bench --bench peer` runs it beside `knockoff crawl` on the same
marketplace and compares their CPU time and peak memory (requires
`pip install scrapy imagehash chompjs`).
"""

import io
import json
import os
import pathlib
import re
import sys
import tomllib
from urllib.parse import quote_plus, urljoin, urlsplit

import chompjs
import imagehash
import scrapy
from PIL import Image, ImageOps
from scrapy.crawler import CrawlerProcess

# A photo within this many bits of a reference's pHash is a copy of it.
PHASH_DISTANCE = 10


def load(workspace):
    products = tomllib.loads((workspace / "reference-images/products.toml").read_text())
    references = []
    for product in products["product"]:
        for rel in product.get("images", []):
            with Image.open(workspace / "reference-images" / rel) as photo:
                references.append((product["id"], imagehash.phash(photo)))
                references.append((product["id"], imagehash.phash(ImageOps.mirror(photo))))
    targets = [tomllib.loads(p.read_text()) for p in sorted((workspace / "targets").glob("*.toml"))]
    return products, references, targets


def slot(url):
    # Scrapy keys its download slots by host name; these hosts differ by port.
    return urlsplit(url).netloc


def script_listing(response):
    """The listing from a page's JSON-LD, __NEXT_DATA__ or runParams script."""
    for text in response.css('script[type="application/ld+json"]::text').getall():
        document = json.loads(text)
        nodes = document.get("@graph", [document]) if isinstance(document, dict) else document
        for node in nodes:
            if node.get("@type") == "Product":
                offers = node.get("offers", {})
                offer = offers[0] if isinstance(offers, list) else offers
                images = node.get("image", [])
                images = [images] if isinstance(images, (str, dict)) else images
                return {
                    "title": node.get("name"),
                    "description": node.get("description"),
                    "price": str(offer.get("price")),
                    "currency": offer.get("priceCurrency"),
                    "seller": offer.get("seller", {}).get("name"),
                    "images": [i["url"] if isinstance(i, dict) else i for i in images],
                }
    text = response.css("script#__NEXT_DATA__::text").get()
    if text:
        listing = json.loads(text)["props"]["pageProps"]["listing"]
        return {
            "title": listing["title"],
            "description": listing["description"],
            "price": listing["price"]["display"],
            "currency": listing["price"]["currency"],
            "seller": listing["seller"]["name"],
            "images": [i["url"] for i in listing["images"]],
        }
    for text in response.css("script::text").getall():
        found = re.search(r"window\.runParams\s*=\s*", text)
        if found:
            data = chompjs.parse_js_object(text[found.end():])["data"]
            return {
                "title": data["titleModule"]["subject"],
                "description": data["descriptionModule"]["text"],
                "price": data["priceModule"]["formatedActivityPrice"],
                "currency": data["priceModule"]["currencyCode"],
                "seller": data["storeModule"]["storeName"],
                "images": data["imageModule"]["imagePathList"],
            }
    return None


class Peer(scrapy.Spider):
    name = "peer"

    def __init__(self, workspace, **kwargs):
        super().__init__(**kwargs)
        self.products, self.references, self.targets = load(pathlib.Path(workspace))
        self.keywords = sorted({k.lower() for p in self.products["product"] for k in p["keywords"]})

    async def start(self):
        for request in self.start_requests():
            yield request

    def start_requests(self):
        queries = [q for p in self.products["product"] for q in p.get("search_queries", [])]
        for target in self.targets:
            for query in queries + target["search"].get("queries", []):
                yield self.search_page(target, query, 1)

    def search_page(self, target, query, page):
        path = target["search"]["url"].replace("{query}", quote_plus(query)).replace("{page}", str(page))
        url = target["base_url"] + path
        meta = {"download_slot": slot(url), "target": target, "query": query, "page": page}
        return scrapy.Request(url, self.results, meta=meta)

    def results(self, response):
        target, query, page = response.meta["target"], response.meta["query"], response.meta["page"]
        if target["name"] == "shopfront":
            links = response.css("div.result:not(.sponsored) a.title::attr(href)").getall()
        else:
            links = response.css("li.card a::attr(href)").getall()
        # The next page while this one showed listings, up to the target's limit.
        if links and page < target["search"].get("max_pages", 5):
            yield self.search_page(target, query, page + 1)
        for link in links:
            url = response.urljoin(link).split("#")[0]
            yield scrapy.Request(url, self.listing, meta={"download_slot": slot(url)})

    def listing(self, response):
        if response.css("h1.title"):
            listing = {
                "title": response.css("h1.title::text").get(),
                "price": response.css("span.price::text").get(),
                "currency": response.css("span.price::attr(data-currency)").get(),
                "seller": response.css(".seller a::text").get(),
                "description": " ".join(response.css("#description ::text").getall()),
                "images": response.css("div.gallery img::attr(data-src)").getall(),
            }
        else:
            listing = script_listing(response)
            if listing is None:
                return
        listing["url"] = response.url
        title = (listing["title"] or "").lower()
        listing["keywords"] = [k for k in self.keywords if k in title]
        listing["photos"] = []
        images = [urljoin(response.url, i) for i in listing.pop("images")]
        yield from self.next_photo(listing, images)

    def next_photo(self, listing, images):
        if not images:
            listing["queued"] = bool(listing["keywords"]) or any(p["copy"] for p in listing["photos"])
            yield listing
            return
        url, rest = images[0], images[1:]
        yield scrapy.Request(
            url,
            self.photo,
            meta={"download_slot": slot(url), "listing": listing, "rest": rest},
            errback=lambda failure: self.next_photo(listing, rest),
            dont_filter=True,
        )

    def photo(self, response):
        listing, rest = response.meta["listing"], response.meta["rest"]
        try:
            with Image.open(io.BytesIO(response.body)) as photo:
                digest = imagehash.phash(photo)
            product, distance = min(((p, digest - h) for p, h in self.references), key=lambda x: x[1])
            listing["photos"].append({"url": response.url, "product": product, "distance": int(distance),
                                      "copy": bool(distance <= PHASH_DISTANCE)})
        except Exception as error:  # a broken photo is recorded, as knockoff does
            listing["photos"].append({"url": response.url, "error": str(error), "copy": False})
        yield from self.next_photo(listing, rest)


def main():
    workspace, out = sys.argv[1], sys.argv[2]
    _, _, targets = load(pathlib.Path(workspace))
    rate = max(t.get("rate", {}).get("requests_per_second", 20.0) for t in targets)
    concurrency = max(t.get("rate", {}).get("concurrency", 4) for t in targets)
    process = CrawlerProcess(settings={
        "ROBOTSTXT_OBEY": True,
        "DOWNLOAD_DELAY": 1.0 / rate,
        "DOWNLOAD_DELAY_JITTER": 0,
        "CONCURRENT_REQUESTS": concurrency * 3,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "AUTOTHROTTLE_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": os.environ.get("PEER_LOG_LEVEL", "WARNING"),
        "FEEDS": {out: {"format": "jsonlines", "overwrite": True}},
    })
    process.crawl(Peer, workspace=workspace)
    process.start()


if __name__ == "__main__":
    main()
