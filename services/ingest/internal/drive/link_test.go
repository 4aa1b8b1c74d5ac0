package drive

import (
	"strings"
	"testing"
)

func TestParseLink(t *testing.T) {
	const id = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
	ok := map[string]Ref{
		id:              {ID: id},
		"  " + id + " ": {ID: id},
		"https://drive.google.com/file/d/" + id + "/view":                         {ID: id},
		"https://drive.google.com/file/d/" + id + "/view?usp=sharing":             {ID: id},
		"https://drive.google.com/file/d/" + id + "/edit?resourcekey=0-abcDEF":    {ID: id, ResourceKey: "0-abcDEF"},
		"https://drive.google.com/file/d/" + id:                                   {ID: id},
		"https://drive.google.com/open?id=" + id:                                  {ID: id},
		"https://drive.google.com/uc?id=" + id + "&export=download":               {ID: id},
		"https://drive.google.com/uc?export=download&id=" + id + "&resourcekey=k": {ID: id, ResourceKey: "k"},
		"https://drive.google.com/drive/folders/" + id:                            {ID: id, Folder: true},
		"https://drive.google.com/drive/u/1/folders/" + id + "?usp=drive_link":    {ID: id, Folder: true},
		"https://drive.google.com/file/u/0/d/" + id + "/view":                     {ID: id},
		"https://docs.google.com/presentation/d/" + id + "/edit":                  {ID: id},
		"https://DRIVE.google.com/file/d/" + id + "/view":                         {ID: id},
	}
	for in, want := range ok {
		got, err := ParseLink(in)
		if err != nil || got != want {
			t.Errorf("%q: got %+v, %v; want %+v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":            "not a Google Drive link",
		"hello world": "not a Google Drive link",
		"https://example.com/file/d/" + id + "/view":  "not Google Drive",
		"https://drive.google.com/file/d/x/view":      "valid Drive id",
		"https://drive.google.com/open":               "valid Drive id",
		"https://drive.google.com/drive/my-drive":     "unrecognised",
		"ftp://drive.google.com/file/d/" + id:         "not a Google Drive link",
		"https://drive.google.com/file/d/" + id + "%": "not a Google Drive link",
	}
	for in, want := range bad {
		if _, err := ParseLink(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want error containing %q", in, err, want)
		}
	}
}

func FuzzParseLink(f *testing.F) {
	f.Add("https://drive.google.com/file/d/1BxiMVs0XRA5nFMdKvBdBZjg/view?resourcekey=0-x")
	f.Add("https://drive.google.com/drive/u/0/folders/1BxiMVs0XRA5nFMd")
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseLink(s)
		if err == nil && !idPattern.MatchString(ref.ID) {
			t.Fatalf("accepted id %q from %q", ref.ID, s)
		}
	})
}
