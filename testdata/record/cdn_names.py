#!/usr/bin/env python3
"""cdn_names.py: used only by record.sh (benign_cdn_dns). Prints the registered domains
(--domains) or a dig batch file (default) of the names a browser resolves on a
CDN-heavy afternoon: long random-looking labels (CloudFront ids, Akamai edge names,
hashes, video shards) spread over 60 registered domains, A and AAAA for each name,
the popular ones looked up again. Seeded, so the list is the same on every run."""
import random
import string
import sys

DOMAINS = """cloudfront.net akamaiedge.net akamaized.net edgekey.net edgesuite.net fastly.net fastlylb.net
azureedge.net azurefd.net cloudflare.net cdn77.org b-cdn.net googlevideo.com gstatic.com
googleusercontent.com ggpht.com ytimg.com fbcdn.net twimg.com licdn.com awsstatic.com msecnd.net
trafficmanager.net llnwd.net hwcdn.net kxcdn.com jsdelivr.net cloudinary.com imgix.net shopifycdn.com
wp.com squarespace-cdn.com zdassets.com segment.io optimizely.com doubleclick.net googlesyndication.com
adnxs.com criteo.com rubiconproject.com pubmatic.com casalemedia.com taboola.com outbrain.com
scorecardresearch.com newrelic.com nr-data.net sentry.io hotjar.com vimeocdn.com akamaihd.net
steamstatic.com dropboxusercontent.com office.net windows.net cdn-xyz.example edge-cache.example
static-assets.example media-delivery.example pixel-track.example""".split()

B36 = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"


def name(r, dom):
    shape = r.randrange(7)
    if dom == "cloudfront.net":
        return "d" + "".join(r.choice(B36) for _ in range(13)) + "." + dom
    if dom == "googlevideo.com":
        return "rr%d---sn-%s.%s" % (r.randrange(1, 6), "".join(r.choice(B36) for _ in range(8)), dom)
    if dom in ("akamaiedge.net", "edgekey.net"):
        return "e%d.%s.%s" % (r.randrange(1000, 99999), r.choice("abcdefg"), dom)
    if shape == 0:
        return "".join(r.choice(HEX) for _ in range(32)) + "." + dom
    if shape == 1:
        return "".join(r.choice(B36) for _ in range(r.randrange(14, 24))) + "." + dom
    if shape == 2:
        return "%s-%s.%s" % ("".join(r.choice(HEX) for _ in range(12)), r.choice(["edge", "img", "static", "v"]), dom)
    if shape == 3:
        return "%s.%s.%s" % ("".join(r.choice(B36) for _ in range(20)), r.choice(["cdn", "s", "assets", "t"]), dom)
    if shape == 4:
        parts = ["".join(r.choice(HEX) for _ in range(n)) for n in (8, 4, 12)]
        return "-".join(parts) + "." + dom
    if shape == 5:
        return "img%d.%s" % (r.randrange(1, 40), dom)
    return "%s.%s" % (r.choice(["www", "static", "api", "assets", "cdn", "js"]), dom)


def main():
    r = random.Random(10)
    if "--domains" in sys.argv:
        print("\n".join(DOMAINS))
        return
    names = []
    for dom in DOMAINS:
        for _ in range(r.randrange(3, 12)):
            n = name(r, dom)
            if n not in names:
                names.append(n)
    r.shuffle(names)
    again = r.sample(names, len(names) // 8)  # popular names, looked up again later
    for n in names + again:
        print("%s A" % n)
        print("%s AAAA" % n)


if __name__ == "__main__":
    main()
