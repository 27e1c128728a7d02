-- GET of a list page: the URL's path, e.g. /notifications (page 1, default page_size 20).
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
wrk.method = "GET"
