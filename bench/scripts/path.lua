-- A plain GET of the URL's path: /health on our API, /empty on the floor, list pages
-- such as /notifications (page 1, default page_size 20).
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
wrk.method = "GET"
