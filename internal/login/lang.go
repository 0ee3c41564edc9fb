package login

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// Lang is a language the login pages are written in, as a BCP 47 tag.
type Lang string

// The languages of the login pages. English is the default and the
// reference: every other catalog has exactly its keys.
const (
	English Lang = "en"
	French  Lang = "fr"
	German  Lang = "de"
)

// Langs are the supported languages, the default first.
var Langs = []Lang{English, French, German}

var matcher = language.NewMatcher([]language.Tag{language.English, language.French, language.German})

// Negotiate picks the page's language: the first language of uiLocales (the
// OpenID Connect ui_locales parameter, space-separated, in order of
// preference) that is supported, else the best match for the
// Accept-Language header (q-values honoured, q=0 refused), else English. A
// regional variant matches its language (fr-CA is French).
func Negotiate(uiLocales, acceptLanguage string) Lang {
	for _, s := range strings.Fields(uiLocales) {
		tag, err := language.Parse(s)
		if err != nil {
			continue
		}
		if l, ok := match(tag); ok {
			return l
		}
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return English
	}
	if l, ok := match(tags...); ok {
		return l
	}
	return English
}

func match(tags ...language.Tag) (Lang, bool) {
	_, i, conf := matcher.Match(tags...)
	if conf < language.High {
		return "", false
	}
	return Langs[i], true
}

// text returns the message key in l, formatted with args; a key missing in
// l falls back to English (a test keeps the catalogs complete).
func (l Lang) text(key string, args ...any) string {
	m, ok := catalogs[l][key]
	if !ok {
		m = catalogs[English][key]
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

// duration says d in words, rounded up to whole seconds, or to whole
// minutes from two minutes on: "1 second", "45 seconds", "3 minutes".
func (l Lang) duration(d time.Duration) string {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	if s < 120 {
		return l.plural(s, "unit.second")
	}
	return l.plural((s+59)/60, "unit.minute")
}

// plural picks key+".one" or key+".other" for n by the language's rule.
func (l Lang) plural(n int, key string) string {
	one := n == 1
	if l == French {
		one = n == 0 || n == 1
	}
	if one {
		return l.text(key+".one", n)
	}
	return l.text(key+".other", n)
}
