package password_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"switchboard"
	"switchboard/password"
)

// wordList is a few hundred everyday words for random passphrases, the
// way a person picks four words from a diceware list.
var wordList = strings.Fields(`able acid aged also area army away baby back ball band bank base bath bear beat been beer bell belt best bird blow blue boat body bomb bond bone book boom born boss both bowl bulk burn bush busy cake call calm came camp card care case cash cast cell chat chip city club coal coat code cold come cook cool cope copy core cost crew crop dark data date dawn days dead deal dear debt deep deny desk dial diet disc disk does done door dose down draw drew drop drug dual duke dust duty each earn ease east easy edge else even ever evil exit face fact fail fair fall farm fast fate fear feed feel feet fell felt file fill film find fine fire firm fish five flat flow food foot ford form fort four free from fuel full fund gain game gate gave gear gene gift girl give glad goal goes gold golf gone good gray grew grey grow gulf hair half hall hand hang hard harm hate have head hear heat held hell help here hero high hill hire hold hole holy home hope host hour huge hung hunt hurt idea inch into iron item jack jane jean john join jump jury just keen keep kent kept kick kind king knee knew know lack lady laid lake land lane last late lead left less life lift like line link list live load loan lock logo long look lord lose loss lost love luck made mail main make male many mark mass matt meal mean meat meet menu mere mike mile milk mill mind mine miss mode mood moon more most move much must name navy near neck need news next nice nick nine none nose note okay once only onto open oral over pace pack page paid pain pair palm park part pass past path peak pick pink pipe plan play plot plug plus poll pool poor port post pull pure push race rail rain rank rare rate read real rear rely rent rest rice rich ride ring rise risk road rock role roll roof room root rose rule rush ruth safe said sake sale salt same sand save seat seed seek seem seen self sell send sent sept ship shop shot show shut sick side sign site size skin slip slow snow soft soil sold sole some song soon sort soul spot star stay step stop such suit sure take tale talk tall tank tape task team tech tell tend term test text than that them then they thin this thus till time tiny told toll tone tony tool tour town tree trip true tune turn twin type unit upon used user vary vast very vice view vote wage wait wake walk wall want ward warm wash wave ways weak wear week well went were west what when whom wide wife wild will wind wine wing wire wise wish with wood word wore work yard yeah year your zero zone`)

func TestValidate(t *testing.T) {
	jane := &switchboard.Profile{Email: "jane.doe@example.com", FirstName: "Jane", LastName: "Doe-Smith"}
	for _, tc := range []struct {
		password string
		ok       bool
	}{
		{"a long enough passphrase", true},
		{"correct horse battery staple", true},
		{strings.Repeat("🙂 pass ", 20), true},
		{"short", false},
		{"Passw0rd!", false},
		{"Summer2024!", false},
		{"switchboard123", false},
		{"Switchboard2024!", false},
		{"!!SWITCHBOARD!!", false},
		{"Password123", false},
		{"qwerty123", false},
		{"password1", false},
		{"PASSWORD1", false},
		{"        ", false},
		{strings.Repeat("a", 256), false},
		{"jane.doe@example.com", false},
		{"Jane.Doe@Example.com!", false},
		{"janedoe1990", false},
		{"DoeSmith2024!", false},
		{"example.com-42", false},
		{"jane switchboard 99", false},
	} {
		f := switchboard.FieldErrors{}
		password.Validate(f, "password", tc.password, jane)
		if (len(f) == 0) != tc.ok {
			t.Errorf("Validate(%q) = %v, want ok %v", tc.password, f, tc.ok)
		}
		if msg := f["password"]; msg != "" && !strings.HasSuffix(msg, ".") {
			t.Errorf("Validate(%q): %q is not a sentence", tc.password, msg)
		}
	}

	t.Run("the person's own email is refused, even padded", func(t *testing.T) {
		for _, p := range []*switchboard.Profile{
			{Email: "mnbvcxzlkj@qwpoeiruty.io", FirstName: "A", LastName: "B"},
			{Email: "k7.zorblat@fjordmail.net", FirstName: "Kim", LastName: "Zorblat"},
		} {
			for _, pw := range []string{p.Email, strings.ToUpper(p.Email), p.Email + "2024!", "#" + p.Email + "#"} {
				f := switchboard.FieldErrors{}
				password.Validate(f, "password", pw, p)
				if f["password"] == "" {
					t.Errorf("%q accepted for %s", pw, p.Email)
				}
			}
		}
	})

	t.Run("four random words always pass", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		for range 300 {
			w := make([]string, 4)
			for i := range w {
				w[i] = wordList[r.IntN(len(wordList))]
			}
			pw := strings.Join(w, " ")
			f := switchboard.FieldErrors{}
			password.Validate(f, "password", pw, jane)
			if len(f) != 0 {
				t.Errorf("%q refused: %v", pw, f)
			}
		}
	})

	t.Run("a passphrase with the person's name in it is fine", func(t *testing.T) {
		f := switchboard.FieldErrors{}
		password.Validate(f, "password", "jane rides a green tractor", jane)
		if len(f) != 0 {
			t.Errorf("refused: %v", f)
		}
	})
}

// BenchmarkValidate measures the estimator on the longest password accepted:
// zxcvbn is quadratic in the length, so it looks at the first 40 characters
// only.
func BenchmarkValidate(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, switchboard.MaxPasswordLength)
	for i := range random {
		random[i] = byte('!' + r.IntN(90))
	}
	for _, bc := range []struct{ name, password string }{
		{"passphrase", "a long enough passphrase"},
		{"random256", string(random)},
		{"repeat256", strings.Repeat("a1", switchboard.MaxPasswordLength/2)},
		{"words256", strings.Repeat("orange tulip bicycle ", 13)[:switchboard.MaxPasswordLength]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			who := &switchboard.Profile{Email: "jane.doe@example.com", FirstName: "Jane", LastName: "Doe"}
			for b.Loop() {
				password.Validate(switchboard.FieldErrors{}, "password", bc.password, who)
			}
		})
	}
}
